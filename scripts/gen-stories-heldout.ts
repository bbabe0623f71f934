/**
 * Writes examples/data/stories-sad-heldout.csv: 120 sad story openings for the held-out evaluation of
 * examples/stories.rtune, composed from 20 scenes × 12 names × 6 sad endings with a seeded generator, so the file
 * is reproducible and its provenance is this script. Every scene is told with 6 of the 12 names (seeded choice),
 * each with a seeded ending. Names and scene words appear nowhere in the tuning data (stories-mood.csv,
 * stories-sad.csv); test/engine/stories-heldout.test.ts checks that and that this script reproduces the file.
 *
 *   node out/scripts/gen-stories-heldout.js        (after npx tsc -p tsconfig.test.json)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng } from '../engine/util/random';

export interface Name {
  name: string;
  he: 'he' | 'she';
}

/** Names of the held-out set (none is in the tuning data). */
export const NAMES: readonly Name[] = [
  { name: 'Nora', he: 'she' },
  { name: 'Owen', he: 'he' },
  { name: 'Ella', he: 'she' },
  { name: 'Finn', he: 'he' },
  { name: 'Ruby', he: 'she' },
  { name: 'Jack', he: 'he' },
  { name: 'Ivy', he: 'she' },
  { name: 'Leo', he: 'he' },
  { name: 'Rosa', he: 'she' },
  { name: 'Hugo', he: 'he' },
  { name: 'Kate', he: 'she' },
  { name: 'Omar', he: 'he' },
];

export interface Scene {
  /** The event: {name}, {his} (his/her), {he} (he/she). */
  text: string;
  /** The words that make the scene (objects, places, actions): none is in the tuning data. */
  words: readonly string[];
}

export const SCENES: readonly Scene[] = [
  { text: '{name} dropped {his} ice cream on the hot road.', words: ['dropped', 'ice', 'cream', 'hot', 'road'] },
  { text: "{name}'s kite was caught in a tall tree.", words: ['kite', 'caught', 'tall', 'tree'] },
  { text: '{name} broke {his} favorite cup.', words: ['broke', 'favorite', 'cup'] },
  { text: '{name} fell off {his} bike and scraped {his} knee.', words: ['fell', 'off', 'bike', 'scraped', 'knee'] },
  { text: "{name}'s wooden train stopped working.", words: ['wooden', 'train', 'stopped', 'working'] },
  { text: '{name} could not find {his} teddy bear anywhere.', words: ['find', 'teddy', 'bear', 'anywhere'] },
  { text: 'The snowman {name} rolled last night melted away.', words: ['snowman', 'rolled', 'last', 'night', 'melted', 'away'] },
  { text: "{name}'s goldfish was floating still in its bowl.", words: ['goldfish', 'floating', 'still', 'bowl'] },
  { text: "{name}'s tower of blocks fell down.", words: ['tower', 'blocks', 'fell', 'down'] },
  { text: 'The school bus left without {name}.', words: ['school', 'bus', 'left', 'without'] },
  { text: '{name} spilled juice on {his} favorite shirt.', words: ['spilled', 'juice', 'favorite', 'shirt'] },
  { text: "{name}'s balloon popped on a sharp branch.", words: ['balloon', 'popped', 'sharp', 'branch'] },
  { text: "A storm broke {name}'s swing in the yard.", words: ['storm', 'broke', 'swing', 'yard'] },
  { text: "{name}'s kitten wandered off and did not return.", words: ['kitten', 'wandered', 'off', 'return'] },
  { text: "{name}'s cookies burned in the oven.", words: ['cookies', 'burned', 'oven'] },
  { text: "{name}'s paper boat sank in the pond.", words: ['paper', 'boat', 'sank', 'pond'] },
  { text: 'The older kids teased {name} about {his} shoes.', words: ['older', 'kids', 'teased', 'about', 'shoes'] },
  { text: "{name}'s uncle moved to a town far away.", words: ['uncle', 'moved', 'town', 'far', 'away'] },
  { text: "{name}'s pen pal never wrote back.", words: ['pen', 'pal', 'never', 'wrote', 'back'] },
  { text: "{name}'s sled cracked on the first hill.", words: ['sled', 'cracked', 'first', 'hill'] },
];

/** Sad endings: {He} (He/She), {his}. */
export const ENDINGS: readonly string[] = [
  '{He} was very sad.',
  '{He} started to cry.',
  '{He} felt sad and lonely.',
  'Tears rolled down {his} cheeks.',
  '{He} sobbed quietly.',
  '{He} did not want to talk to anyone.',
];

export const SEED = 20261202;
export const NAMES_PER_SCENE = 6;

function fill(t: string, n: Name): string {
  const his = n.he === 'he' ? 'his' : 'her';
  const he = n.he;
  return t
    .replace(/\{name\}/g, n.name)
    .replace(/\{his\}/g, his)
    .replace(/\{he\}/g, he)
    .replace(/\{He\}/g, he[0]?.toUpperCase() + he.slice(1));
}

export interface HeldoutRow {
  statement: string;
  name: string;
  scene: number;
  ending: number;
}

/** The rows, in file order: scene by scene, each with its seeded names and endings. */
export function heldoutRows(): HeldoutRow[] {
  const rng = new Rng(SEED);
  const rows: HeldoutRow[] = [];
  SCENES.forEach((scene, si) => {
    // Seeded Fisher-Yates shuffle of the names; the first NAMES_PER_SCENE tell this scene.
    const order = NAMES.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    for (const ni of order.slice(0, NAMES_PER_SCENE)) {
      const n = NAMES[ni] as Name;
      const ending = Math.floor(rng.next() * ENDINGS.length);
      rows.push({ statement: `${fill(scene.text, n)} ${fill(ENDINGS[ending] as string, n)}`, name: n.name, scene: si, ending });
    }
  });
  return rows;
}

/** The CSV text (statement,label; every row label 0). */
export function heldoutCsv(): string {
  const q = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return `statement,label\n${heldoutRows()
    .map((r) => `${q(r.statement)},0`)
    .join('\n')}\n`;
}

export const HELDOUT_CSV = path.join('examples', 'data', 'stories-sad-heldout.csv');

if (require.main === module) {
  const root = path.resolve(__dirname, '..', '..');
  fs.writeFileSync(path.join(root, HELDOUT_CSV), heldoutCsv());
  console.log(`wrote ${HELDOUT_CSV}: ${heldoutRows().length} rows`);
}
