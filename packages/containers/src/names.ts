import crypto from 'node:crypto';

// A short slice of docker's namesgenerator idea: memorable default names, not a copy of its lists.
const ADJECTIVES = ['brave', 'calm', 'eager', 'fancy', 'gentle', 'happy', 'jolly', 'keen', 'lucid', 'merry', 'nifty', 'proud', 'quiet', 'sharp', 'swift', 'tender', 'vivid', 'witty', 'zealous', 'bold'];
const NOUNS = ['otter', 'falcon', 'maple', 'comet', 'harbor', 'lynx', 'quartz', 'willow', 'ember', 'glacier', 'heron', 'meadow', 'nebula', 'orchid', 'pebble', 'raven', 'summit', 'tundra', 'walrus', 'yarrow'];

/** A random `adjective_noun` name; the caller retries on a collision. */
export function randomName(): string {
  const pick = (xs: string[]): string => xs[crypto.randomInt(xs.length)]!;
  return `${pick(ADJECTIVES)}_${pick(NOUNS)}`;
}
