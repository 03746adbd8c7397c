// Regenerates models.schema.json from the valibot schema (run `pnpm gen:schema`, which builds
// first). A unit test fails when the committed file is out of date.
import { writeFile } from 'node:fs/promises';
import { modelsJsonSchema } from '../dist/index.js';

const target = new URL('../models.schema.json', import.meta.url);
await writeFile(target, `${JSON.stringify(modelsJsonSchema(), null, 2)}\n`);
