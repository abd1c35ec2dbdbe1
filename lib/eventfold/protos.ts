// The .proto texts. From source they are read beside this module; the bundles (scripts/build.mjs)
// replace this module with the texts inlined, so a bundle is one self-contained file.
import { readFileSync } from 'node:fs';

const read = (name: string) => readFileSync(new URL(`./proto/${name}`, import.meta.url), 'utf8');

export const eventfoldProto = (): string => read('eventfold.proto');
export const healthProto = (): string => read('health.proto');
