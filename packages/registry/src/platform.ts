import type { Descriptor, Platform } from './types.ts';

/** The platform of the machine tbuild runs on, in OCI vocabulary. */
export function hostPlatform(): Platform {
  return normalizePlatform({ os: process.platform === 'win32' ? 'windows' : process.platform, architecture: process.arch });
}

const ARCH: Record<string, string> = { x86_64: 'amd64', x64: 'amd64', x86: '386', ia32: '386', i386: '386', aarch64: 'arm64', armhf: 'arm', armel: 'arm' };

/** containerd/platforms normalisation: x86_64 -> amd64, aarch64 -> arm64 (variant v8), arm default v7. */
export function normalizePlatform(p: Platform): Platform {
  const os = p.os.toLowerCase();
  let architecture = p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase();
  if (architecture === 'armhf') variant ??= 'v7';
  if (architecture === 'armel') variant ??= 'v6';
  architecture = ARCH[architecture] ?? architecture;
  if (architecture === 'arm64' && (variant === undefined || variant === '8')) variant = 'v8';
  if (architecture === 'arm' && variant === undefined) variant = 'v7';
  if (architecture === 'arm' && /^[5-8]$/.test(variant ?? '')) variant = `v${variant}`;
  if (architecture === 'amd64' && variant === 'v1') variant = undefined;
  const out: Platform = { os, architecture };
  if (variant) out.variant = variant;
  if (p['os.version']) out['os.version'] = p['os.version'];
  return out;
}

/** "linux/arm64/v8" style, for messages and the CLI's --platform. */
export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? '/' + p.variant : ''}`;
}

export function parsePlatform(s: string): Platform {
  const [os = '', architecture = '', variant] = s.split('/');
  return normalizePlatform({ os, architecture, ...(variant ? { variant } : {}) });
}

/** Whether an image built for `have` runs as `want`; a missing variant on either side matches. */
export function platformMatches(want: Platform, have: Platform): boolean {
  const w = normalizePlatform(want);
  const h = normalizePlatform(have);
  if (w.os !== h.os || w.architecture !== h.architecture) return false;
  if (w.architecture === 'arm64' || w.architecture === 'amd64') return true;
  return !w.variant || !h.variant || w.variant === h.variant;
}

/**
 * Picks the manifest for `want` from an index, skipping attestation manifests (BuildKit marks
 * them `unknown/unknown`). The first match wins, as image-index.md says; an arm/v7 request falls
 * back to v6 then v5 like containerd.
 */
export function selectManifest(manifests: Descriptor[], want: Platform): Descriptor | undefined {
  const candidates = manifests.filter(
    (m) => m.platform && m.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest',
  );
  const w = normalizePlatform(want);
  const exact = candidates.find((m) => platformMatches(w, m.platform!));
  if (exact) return exact;
  if (w.architecture === 'arm' && w.variant) {
    const order = ['v8', 'v7', 'v6', 'v5'];
    for (const v of order.slice(order.indexOf(w.variant) + 1)) {
      const m = candidates.find((c) => platformMatches({ ...w, variant: v }, c.platform!) && c.platform!.variant === v);
      if (m) return m;
    }
  }
  return undefined;
}
