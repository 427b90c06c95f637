import fs from 'node:fs';

/**
 * `NODE_EXTRA_CA_CERTS`, deferred to the first TLS connection. Node.js reads and parses that
 * file as it starts, before any code runs: a distribution's bundle of ~140 certificates costs
 * every tbuild command 30-100 ms on the benchmark machine, though only a pull, a push or an
 * `ADD https://…` needs it. So the thin client (native/client.c) hands the path over as
 * `TBUILD_EXTRA_CA_CERTS` instead, and HTTPS requests add the file to Node's own roots here,
 * which trusts what Node.js would have trusted with the variable set.
 */
export const DEFERRED_CA_ENV = 'TBUILD_EXTRA_CA_CERTS';

let loaded: Promise<{ ca?: string[] }> | undefined;

/** Options for an HTTPS agent or request: Node's roots plus the deferred file, or nothing to add. */
export function extraCaOptions(env: NodeJS.ProcessEnv = process.env): Promise<{ ca?: string[] }> {
  return (loaded ??= loadExtraCa(env));
}

async function loadExtraCa(env: NodeJS.ProcessEnv): Promise<{ ca?: string[] }> {
  const file = env[DEFERRED_CA_ENV];
  // Set as well: Node.js loaded it itself at start.
  if (!file || env.NODE_EXTRA_CA_CERTS) return {};
  const { rootCertificates } = await import('node:tls');
  try {
    return { ca: [...rootCertificates, fs.readFileSync(file, 'utf8')] };
  } catch (e) {
    // What Node.js does with an unreadable NODE_EXTRA_CA_CERTS: warn, and trust its own roots.
    process.emitWarning(`Ignoring extra certs from \`${file}\`, load failed: ${(e as Error).message}`);
    return {};
  }
}
