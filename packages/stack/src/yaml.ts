/**
 * The yaml library, loaded when first needed. Bundled (the serve bin), a dynamic import of this
 * CommonJS package yields its exports as the default export only: take them from there.
 */
export async function loadYaml(): Promise<typeof import('yaml')> {
  const mod = await import('yaml');
  return 'parseDocument' in mod ? mod : (mod as unknown as { default: typeof import('yaml') }).default;
}
