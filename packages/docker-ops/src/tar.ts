/** One regular file of a tar archive. */
export interface TarEntry {
  /** Path inside the archive, relative (`app/main.js`); at most 100 bytes. */
  name: string;
  content: Buffer | string;
  /** @default 0o644 */
  mode?: number;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/**
 * A ustar archive of regular files, as the Engine API's "put archive" takes it (files copied
 * into a container before it starts). Directories are implied by the paths.
 */
export function tarArchive(entries: readonly TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const content = typeof entry.content === 'string' ? Buffer.from(entry.content) : entry.content;
    const name = Buffer.from(entry.name);
    if (name.length > 100) throw new Error(`tar: the name ${entry.name} is longer than 100 bytes`);
    const header = Buffer.alloc(512);
    name.copy(header, 0);
    header.write(octal(entry.mode ?? 0o644, 8), 100, 'ascii');
    header.write(octal(0, 8), 108, 'ascii');
    header.write(octal(0, 8), 116, 'ascii');
    header.write(octal(content.length, 12), 124, 'ascii');
    header.write(octal(0, 12), 136, 'ascii');
    header.write('        ', 148, 'ascii');
    header.write('0', 156, 'ascii');
    header.write('ustar\0' + '00', 257, 'ascii');
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(octal(sum, 7) + ' ', 148, 'ascii');
    blocks.push(header, content, Buffer.alloc((512 - (content.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}
