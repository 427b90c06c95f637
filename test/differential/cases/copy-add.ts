import { gzipSync } from 'node:zlib';
import type { DiffCase } from '../support/case.ts';

/** COPY and ADD: sources, destinations, wildcards, owners, modes, symlinks, archives. */
// Names past ustar's 100 and 155 bytes: PAX records in every layer tar.
const LONG = 'n'.repeat(200);
const DEEP = Array.from({ length: 12 }, (_, i) => `dir${i}-${'x'.repeat(10)}`).join('/');

export const COPY_ADD_CASES: DiffCase[] = [
  {
    name: 'copy-file-to-dir',
    dockerfile: 'FROM {{BASE}}\nCOPY a.txt /dst/\nCOPY a.txt /dst/renamed\nCOPY a.txt relative\n',
    files: { 'a.txt': 'alpha\n' },
  },
  {
    name: 'copy-dir-contents',
    dockerfile: 'FROM {{BASE}}\nCOPY src /app\nCOPY src/ /app2/\n',
    files: { 'src/x': 'x', 'src/sub/y': 'y', 'src/sub/deeper/z': 'z', 'src/empty': { dir: true, mode: 0o700 }, src: { dir: true, mode: 0o750 } },
  },
  {
    name: 'context-owners-reset',
    dockerfile: 'FROM {{BASE}}\nCOPY owned /o/owned\nCOPY . /all/\n',
    files: { owned: { content: 'mine', uid: 1234, gid: 5678 }, 'd/also': { content: 'x', uid: 42, gid: 42, mode: 0o600 } },
  },
  {
    name: 'copy-modes-preserved',
    dockerfile: 'FROM {{BASE}}\nCOPY . /ctx/\n',
    files: { 'exec.sh': { content: '#!/bin/sh\n', mode: 0o755 }, 'private': { content: 's', mode: 0o600 }, 'odd': { content: 'o', mode: 0o4711 }, 'd/f': 'f', 'd': { dir: true, mode: 0o750 } },
  },
  {
    name: 'copy-wildcards',
    dockerfile: 'FROM {{BASE}}\nCOPY *.txt /w/\nCOPY [ab]?.md /m/\nCOPY nomatch* /none/\nCOPY dir*/ /dirs/\n',
    files: { '1.txt': '1', '2.txt': '2', 'a1.md': 'a', 'b2.md': 'b', 'c3.md': 'c', 'dir1/f': 'f1', 'dir2/g': 'g2' },
  },
  {
    name: 'copy-multiple-sources',
    dockerfile: 'FROM {{BASE}}\nWORKDIR /work\nCOPY one two sub/ ./multi/\nCOPY ["one", "two", "/json/"]\n',
    files: { one: '1', two: '2', 'sub/three': '3' },
  },
  {
    name: 'copy-chown-numeric-and-names',
    dockerfile: 'FROM {{BASE}}\nCOPY --chown=1000:1000 a /n/a\nCOPY --chown=app a /n/byname\nCOPY --chown=app:root a /n/mixed\nCOPY --chown=42 d /n/d\n',
    files: { a: 'a', 'd/x': 'x', 'd/y/z': 'z' },
  },
  {
    name: 'copy-chown-expanded-arg',
    dockerfile: 'FROM {{BASE}}\nARG OWNER=1234:5678\nENV DEST=/e\nCOPY --chown=${OWNER} a $DEST/\n',
    files: { a: 'a' },
  },
  {
    name: 'copy-chmod',
    dockerfile: 'FROM {{BASE}}\nCOPY --chmod=0640 a /m/a\nCOPY --chmod=755 d /m/d\n',
    files: { a: 'a', 'd/x': 'x', 'd/sub/y': 'y' },
  },
  {
    name: 'copy-symlinks-in-context',
    dockerfile: 'FROM {{BASE}}\nCOPY links /links\nCOPY via-link/file /followed\n',
    files: { 'links/target': 't', 'links/rel': { symlink: 'target' }, 'links/abs': { symlink: '/etc/passwd' }, 'links/dangling': { symlink: 'missing' }, 'real/file': 'real', 'via-link': { symlink: 'real' } },
  },
  {
    name: 'copy-over-existing',
    dockerfile: 'FROM {{BASE}}\nRUN mkdir -p /o/dir && echo old > /o/file && ln -s /tmp /o/link && chmod 700 /o/dir\nCOPY over/ /o/\n',
    files: { 'over/file': 'new', 'over/dir/inner': 'inner', 'over/extra': 'e' },
  },
  {
    name: 'copy-into-symlinked-dir',
    dockerfile: 'FROM {{BASE}}\nRUN mkdir /real && ln -s /real /alias\nCOPY f /alias/f\nCOPY d/ /alias/\n',
    files: { f: 'f', 'd/g': 'g' },
  },
  {
    // The destination is resolved through a symlink already there, the last component too.
    // (The second COPY rewrites identical content: a layer or none, docs/differences.md, so
    // history is not compared.)
    name: 'copy-onto-file-symlink',
    dockerfile: 'FROM {{BASE}}\nRUN echo t > /etc/target && ln -s /etc/target /etc/abs && ln -s target /etc/rel && ln -s /nowhere/../made /dangling\nCOPY f /etc/abs\nCOPY f /etc/rel\nCOPY g /dangling\n',
    files: { f: 'new', g: 'g' },
    history: false,
  },
  {
    name: 'copy-special-names',
    dockerfile: 'FROM {{BASE}}\nCOPY ["a b.txt", "/x/"]\nCOPY ["c[1].txt", "/x/"]\nCOPY d* /y/\n',
    files: { 'a b.txt': 'a', 'c[1].txt': 'c', 'd$x': 'dollar', 'd é': 'u' },
  },
  {
    // A symlink named as the source is followed; inside a copied directory it stays a link.
    name: 'copy-from-symlink-source',
    dockerfile: 'FROM {{BASE}} AS s\nRUN mkdir -p /t/d && echo 1 > /t/d/f && ln -s d /t/ld && ln -s d/f /t/lf\nFROM {{BASE}}\nCOPY --from=s /t/ld /a\nCOPY --from=s /t/lf /b\nCOPY --from=s /t/ /c/\n',
  },
  {
    name: 'expand-in-copy-paths',
    dockerfile: 'ARG V=1\nFROM {{BASE}}\nARG V\nENV F=f\nCOPY ${F} /dst-$V/${F:-none}\nCOPY $F /d2/${NOPE:-fallback}\n',
    files: { f: 'x' },
  },
  {
    // Hard links among the files of one source stay links (BuildKit's copy tracks inodes);
    // two sources named apart are copied apart.
    name: 'copy-hardlinks',
    dockerfile: 'FROM {{BASE}} AS s\nRUN mkdir /h && echo x > /h/a && ln /h/a /h/b && ln /h/a /h/c\nFROM {{BASE}}\nCOPY --from=s /h /h\nCOPY --from=s /h/a /h/b /two/\nCOPY ctx /ctx\n',
    files: { 'ctx/a': 'shared', 'ctx/b': { hardlink: 'ctx/a' }, 'ctx/c': 'shared' },
  },
  {
    name: 'copy-dir-onto-dir-symlink-no-slash',
    dockerfile: 'FROM {{BASE}}\nRUN mkdir /real && ln -s /real /alias\nCOPY d /alias\n',
    files: { 'd/x': 'x', 'd/s/y': 'y' },
  },
  {
    name: 'add-tar-into-symlinked-dir',
    dockerfile: 'FROM {{BASE}}\nRUN mkdir /real && ln -s /real /alias\nADD t.tar /alias/\n',
    files: { 't.tar': { tar: [{ name: 'in/', type: 'directory' }, { name: 'in/f', content: 'f' }] } },
  },
  {
    name: 'copy-empty-dir-and-dotfiles',
    dockerfile: 'FROM {{BASE}}\nCOPY e /e\nCOPY .hidden /h\nCOPY . /all/\n',
    files: { e: { dir: true }, '.hidden': 'h', 'sub/.x': 'x' },
  },
  {
    name: 'dockerignore-exceptions',
    dockerfile: 'FROM {{BASE}}\nCOPY . /c/\n',
    files: { '.dockerignore': 'dir\n!dir/keep\n**/*.log\n!important.log\nDockerfile\n', 'dir/keep': 'k', 'dir/drop': 'd', 'a.log': 'l', 'sub/b.log': 'l', 'important.log': 'i', other: 'o' },
  },
  {
    name: 'context-symlink-to-dir',
    dockerfile: 'FROM {{BASE}}\nCOPY . /c/\nCOPY ld /viaslink\n',
    files: { 'real/f': 'f', ld: { symlink: 'real' } },
  },
  {
    name: 'copy-chmod-dir',
    dockerfile: 'FROM {{BASE}}\nCOPY --chmod=700 d /d\nCOPY --chmod=640 f /f\n',
    files: { 'd/x': 'x', 'd/s/y': 'y', f: 'f' },
  },
  {
    // No user, a group: BuildKit finds no user named "" and keeps uid 0.
    name: 'copy-chown-group-only',
    dockerfile: 'FROM {{BASE}}\nCOPY --chown=:1001 f /c\nCOPY --chown=:nogroup f /d\nCOPY --chown=1000 f /a\n',
    files: { f: 'f' },
  },
  {
    name: 'copy-glob-dirs-and-nested',
    dockerfile: 'FROM {{BASE}}\nCOPY */*.txt /t/\nCOPY a?/ /q/\nCOPY [ab]1/x.txt /r/\n',
    files: { 'a1/x.txt': 'a', 'b1/x.txt': 'b', 'a1/y.md': 'y', 'c/z.txt': 'z' },
  },
  {
    name: 'workdir-then-copy-relative-dot',
    dockerfile: 'FROM {{BASE}}\nWORKDIR /app\nCOPY . .\nCOPY f ./sub/\nCOPY f ../top\n',
    files: { f: 'f', 'g/h': 'h' },
  },
  {
    // Only `.` and a trailing `/` make a destination a directory: `/c/.` is the file /c.
    name: 'copy-dest-dot-suffix',
    dockerfile: 'FROM {{BASE}} AS s\nRUN mkdir -p /d/e && echo 1 > /d/e/f\nFROM {{BASE}}\nWORKDIR /w\nCOPY f .\nCOPY f /x/.\nCOPY d ./.\nCOPY --from=s /d/ /a\nCOPY --from=s /d/e/ /b/\nCOPY --from=s /d/e/f /c/.\n',
    files: { f: 'f', 'd/g': 'g' },
  },
  {
    name: 'long-names-and-deep-paths',
    dockerfile: `FROM {{BASE}}\nCOPY . /c/\nRUN mkdir -p /r/${DEEP} && touch /r/${DEEP}/${LONG}\n`,
    files: { [`${DEEP}/${LONG}`]: 'deep', [LONG]: 'long' },
  },
  {
    name: 'add-tar-pax-names',
    dockerfile: 'FROM {{BASE}}\nADD t.tar /t/\n',
    files: { 't.tar': { tar: [{ name: `${'p'.repeat(150)}/f`, content: 'pax path' }, { name: 'l', type: 'symlink', linkname: 'x'.repeat(150) }] } },
  },
  {
    // Gzip of something that is not a tar: copied as it is, compressed.
    name: 'add-gzip-not-tar',
    dockerfile: 'FROM {{BASE}}\nADD note.gz /n/\nADD note.gz /m\n',
    files: { 'note.gz': { content: gzipSync(Buffer.from('just text, gzipped\n')) } },
  },
  {
    // The link entry repeats its target's metadata, as tar tools write it (docs/differences.md).
    name: 'add-tar-owners-modes-links',
    dockerfile: 'FROM {{BASE}}\nADD t.tar /t/\n',
    files: { 't.tar': { tar: [{ name: 'd/', type: 'directory', mode: 0o700, uid: 3, gid: 4 }, { name: 'd/x', content: 'x', mode: 0o4755, uid: 5, gid: 6 }, { name: 'd/h', type: 'link', linkname: 'd/x', mode: 0o4755, uid: 5, gid: 6 }, { name: 'd/s', type: 'symlink', linkname: '../d/x' }, { name: 'e/', type: 'directory', mode: 0o1777 }] } },
  },
  {
    name: 'add-tar-over-existing-tree',
    dockerfile: 'FROM {{BASE}}\nRUN mkdir -p /t/d && echo old > /t/d/x && echo keep > /t/d/keep && ln -s /etc /t/esym\nADD t.tar /t/\n',
    files: { 't.tar': { tar: [{ name: 'd/x', content: 'new' }, { name: 'd/y', content: 'y' }] } },
  },
  {
    name: 'add-archive-among-sources',
    dockerfile: 'FROM {{BASE}}\nADD t.tar plain.txt /m/\n',
    files: { 't.tar': { tar: [{ name: 'a', content: 'a' }] }, 'plain.txt': 'p' },
  },
  // .dockerignore: anchors, trailing slashes, **, re-included files under excluded dirs, classes and escapes.
  { name: 'dockerignore-anchors-and-slashes', dockerfile: 'FROM {{BASE}}\nCOPY . /c/\n', files: { '.dockerignore': '/a\n./b\nc/\n**/d\ne/**\n!e/keep\nf*/g\n# comment\n  h  \n', a: 'a', b: 'b', 'c/x': 'c', 'x/d': 'd', 'x/y/d/z': 'dz', 'e/keep': 'k', 'e/drop': 'd', 'f1/g': 'g', 'f2/g2': 'g2', h: 'h' } },
  { name: 'dockerignore-reinclude-under-excluded-dir', dockerfile: 'FROM {{BASE}}\nCOPY . /c/\n', files: { '.dockerignore': 'node_modules\n!node_modules/keep/**\nbuild/\n!build/out.txt\n*.md\n!README.md\n', 'node_modules/keep/a': 'a', 'node_modules/drop/b': 'b', 'build/out.txt': 'o', 'build/tmp.txt': 't', 'x.md': 'x', 'README.md': 'r' } },
  { name: 'dockerignore-dockerfile-and-self', dockerfile: 'FROM {{BASE}}\nCOPY . /c/\n', files: { '.dockerignore': '.dockerignore\nDockerfile\n', keep: 'k' } },
  { name: 'dockerignore-escapes-and-classes', dockerfile: 'FROM {{BASE}}\nCOPY . /c/\n', files: { '.dockerignore': 'a[0-9].txt\n\\*lit\nq?.log\n[!x]y\n', 'a1.txt': '1', 'ab.txt': 'b', '*lit': 'star', 'qa.log': 'q', 'qaa.log': 'qq', 'zy': 'z', 'xy': 'x' } },
  {
    name: 'dockerignore',
    dockerfile: 'FROM {{BASE}}\nCOPY . /ctx/\n',
    files: {
      '.dockerignore': '*.log\n**/secret*\n!keep.log\nbuild/\n# comment\n/tmpdir\n',
      'keep.log': 'k',
      'drop.log': 'd',
      'a/secret.key': 's',
      'a/public': 'p',
      'build/out': 'o',
      'tmpdir/x': 'x',
      'nested/tmpdir/x': 'x',
    },
  },
  {
    name: 'add-local-tar',
    dockerfile: 'FROM {{BASE}}\nADD plain.tar /plain/\nADD packed.tar.gz /packed\nADD notatar.txt /nt/\n',
    files: {
      'plain.tar': { tar: [{ name: 'd/', type: 'directory', mode: 0o711, uid: 5, gid: 6 }, { name: 'd/f', content: 'f', mode: 0o640, uid: 7, gid: 8 }, { name: 'l', type: 'symlink', linkname: 'd/f' }, { name: 'h', type: 'link', linkname: 'd/f', mode: 0o640, uid: 7, gid: 8 }] },
      'packed.tar.gz': { tar: [{ name: 'z/one', content: '1' }, { name: 'z/two', content: '22', mode: 0o755 }], compress: 'gzip' },
      'notatar.txt': 'plain text',
    },
  },
  {
    name: 'add-url',
    dockerfile: 'FROM {{BASE}}\nADD {{HTTP}}/file.txt /dl/\nADD {{HTTP}}/file.txt /dl/renamed\nADD {{HTTP}}/dir/archive.tar /dl/\nADD --chown=1000:1000 {{HTTP}}/file.txt /dl/owned\n',
  },
  {
    name: 'copy-from-stage-wildcards',
    dockerfile: 'FROM {{BASE}} AS s\nRUN mkdir -p /o/x1 /o/x2 && echo 1 > /o/x1/f && echo 2 > /o/f2 && chown -R 7:7 /o/x1\nFROM {{BASE}}\nCOPY --from=s /o/x* /w/\nCOPY --from=s /o/*.none /nothing/\n',
  },
  {
    name: 'add-tar-with-chown',
    dockerfile: 'FROM {{BASE}}\nADD --chown=1000:1000 t.tar /t/\n',
    files: { 't.tar': { tar: [{ name: 'in/', type: 'directory', mode: 0o755, uid: 3, gid: 3 }, { name: 'in/f', content: 'f', uid: 3, gid: 3 }] } },
  },
  {
    name: 'add-chown-and-dir',
    dockerfile: 'FROM {{BASE}}\nADD --chown=1000:1000 src /add/\nADD one /add/single\n',
    files: { 'src/a': 'a', 'src/b/c': 'c', one: '1' },
  },
  {
    name: 'copy-dir-with-one-file',
    dockerfile: 'FROM {{BASE}}\nCOPY d /d\nCOPY d/ /d2\nCOPY --from={{BASE}} /root /r\nCOPY e /e\n',
    files: { 'd/only': 'o', 'e/sub/deep': 'x' },
  },
  {
    name: 'names-and-sizes',
    dockerfile: 'FROM {{BASE}}\nCOPY . /n/\nRUN mkdir -p "/run-made/ünï cödé" && head -c 3000000 /bin/busybox > "/run-made/ünï cödé/big" && : > /run-made/empty\n',
    files: {
      [`${'long-directory-name-'.repeat(4)}/${'x'.repeat(120)}.txt`]: 'long path',
      'ünïcödé ñame.txt': 'unicode',
      'with space/and\ttab': 'ws',
      empty: '',
      big: { content: Buffer.alloc(2_500_000, 7) },
    },
  },
  {
    name: 'copy-dest-workdir-relative',
    dockerfile: 'FROM {{BASE}}\nWORKDIR /w/x\nCOPY a .\nCOPY a ./sub/\nCOPY a ../up\nWORKDIR rel\nCOPY a ./\n',
    files: { a: 'a' },
  },
  { name: 'copy-preserves-dest-dir-attrs', dockerfile: 'FROM {{BASE}}\nRUN mkdir -p /d && chmod 711 /d && chown 9:9 /d\nCOPY f /d/\nCOPY sub/ /d/\n', files: { f: 'f', 'sub/g': 'g' } },
  { name: 'copy-chmod-chown-from-stage', dockerfile: 'FROM {{BASE}} AS s\nRUN mkdir -p /o/d && echo 1 > /o/d/f && chmod 600 /o/d/f && ln -s d/f /o/l\nFROM {{BASE}}\nCOPY --from=s --chmod=751 /o /a\nCOPY --from=s --chown=3:4 --chmod=640 /o /b\n' },
  { name: 'add-chmod-local', dockerfile: 'FROM {{BASE}}\nADD --chmod=700 f /f\nADD --chmod=755 d /d\n', files: { f: 'f', 'd/x': 'x' } },
  { name: 'copy-chown-dir-existing-dest', dockerfile: 'FROM {{BASE}}\nRUN mkdir -p /e/sub && chown 5:5 /e /e/sub\nCOPY --chown=7:7 d /e/\n', files: { 'd/sub/x': 'x', 'd/y': 'y' } },
  {
    name: 'add-tar-bzip2-and-xz',
    dockerfile: 'FROM {{BASE}}\nADD a.tar.bz2 /a/\nADD b.tar.xz /b/\n',
    files: { 'a.tar.bz2': { tar: [{ name: 'in/one', content: '1' }], compress: 'bzip2' }, 'b.tar.xz': { tar: [{ name: 'in/two', content: '2', mode: 0o600 }], compress: 'xz' } },
  },
  // Names are cleaned as docker's filepath.Clean does; a ".." above the destination stops there.
  {
    name: 'add-tar-dotdot-and-absolute-names',
    dockerfile: 'FROM {{BASE}}\nADD t.tar /dst/\n',
    files: { 't.tar': { tar: [{ name: '/abs/x', content: 'a' }, { name: './rel/y', content: 'r' }, { name: 'a/../b', content: 'b' }, { name: 'a/../../up', content: 'u' }, { name: 'c/d/../../e', type: 'link', linkname: 'q/../b' }] } },
  },
  // Context times before 1970, after 2038 and a hair below a whole second survive COPY as BuildKit's.
  {
    name: 'copy-old-and-future-mtimes',
    dockerfile: 'FROM {{BASE}}\nCOPY old new frac /t/\n',
    files: { old: { content: 'o', mtime: -300_000_000 }, new: { content: 'n', mtime: 5_000_000_000 }, frac: { content: 'f', mtime: 1_600_000_000.9999 } },
    mtimes: ['/t/old', '/t/new', '/t/frac'],
  },
  { name: 'copy-from-stage-root', dockerfile: 'FROM {{BASE}} AS b\nRUN mkdir /out && echo x > /out/f\nFROM scratch\nCOPY --from=b / /\n' },
  { name: 'copy-from-relative-source', dockerfile: 'FROM {{BASE}} AS b\nWORKDIR /w\nRUN mkdir out && echo x > out/f\nFROM {{BASE}}\nWORKDIR /dst\nCOPY --from=b w/out o\n' },
  { name: 'context-fifo', dockerfile: 'FROM {{BASE}}\nCOPY . /c/\n', files: { p: { fifo: true }, f: 'x' } },
  { name: 'copy-dotdot-dest', dockerfile: 'FROM {{BASE}}\nWORKDIR /w/x\nCOPY f /a/../b/\nCOPY f ../c\nCOPY f ../../../../up\n', files: { f: 'x' } },
  { name: 'copy-many-sources-into-new-dir-with-chmod', dockerfile: 'FROM {{BASE}}\nCOPY --chmod=0640 a b c/ /new/deep/\n', files: { a: 'a', b: 'b', 'c/d': 'd', 'c/e/f': 'f' } },
  // ADD unpacks an archive it names, never one inside a directory it copies.
  { name: 'add-dir-with-tar-inside', dockerfile: 'FROM {{BASE}}\nADD d /d/\n', files: { 'd/inner.tar': { tar: [{ name: 'x', content: 'x' }] }, 'd/f': 'f' } },
  { name: 'copy-dest-double-slashes', dockerfile: 'FROM {{BASE}}\nCOPY f /dir//sub/\nCOPY f //top\n', files: { f: 'f' } },
  { name: 'copy-into-workdir-as-written', dockerfile: 'FROM {{BASE}}\nWORKDIR /app/\nCOPY f ./\nCOPY f sub/\nCOPY f ../up\n', files: { f: 'f' } },
  { name: 'copy-dest-unset-var', dockerfile: 'FROM {{BASE}}\nCOPY f $NOPE/\nCOPY f ${NOPE:-/def}/\n', files: { f: 'f' } },
  { name: 'copy-from-stage-source-slash-forms', dockerfile: 'FROM {{BASE}} AS s\nRUN mkdir -p /a/b && echo 1 > /a/b/x\nFROM {{BASE}}\nCOPY --from=s /a/b/ /dst\nCOPY --from=s /a/b/. /dst2/\nCOPY --from=s /a/./b /dst3\n' },
  { name: 'copy-json-dir-slash', dockerfile: 'FROM {{BASE}}\nCOPY ["dir/", "/d"]\nCOPY ["dir", "/e/"]\n', files: { 'dir/x': 'x', 'dir/y/z': 'z' } },
  { name: 'copy-chown-uid-only', dockerfile: 'FROM {{BASE}}\nCOPY --chown=1234 f /f\nCOPY --chown=1234: f /g\n', files: { f: 'f' } },
  { name: 'copy-hidden-and-glob-star', dockerfile: 'FROM {{BASE}}\nCOPY .* /hidden/\nCOPY * /all/\n', files: { '.env': 'e', '.git/HEAD': 'h', a: 'a', 'b/c': 'c' } },
  { name: 'add-tar-with-whiteouts', dockerfile: 'FROM {{BASE}}\nRUN mkdir -p /t/keep /t/op && echo 1 > /t/gone && echo 2 > /t/op/old\nADD w.tar /t/\n', files: { 'w.tar': { tar: [{ name: '.wh.gone', content: '' }, { name: 'op/.wh..wh..opq', content: '' }, { name: 'op/new', content: 'n' }] } } },
  { name: 'add-wildcard-archives', dockerfile: 'FROM {{BASE}}\nADD *.tar /dst/\n', files: { 'one.tar': { tar: [{ name: 'o', content: 'o' }] }, 'two.tar': { tar: [{ name: 't', content: 't' }] } } },
  { name: 'add-archive-no-slash-dest', dockerfile: 'FROM {{BASE}}\nADD a.tar /newdir\n', files: { 'a.tar': { tar: [{ name: 'x', content: 'x' }] } } },
  { name: 'add-empty-tar', dockerfile: 'FROM {{BASE}}\nADD e.tar /e/\n', files: { 'e.tar': { tar: [] } } },
  { name: 'dockerignore-crlf-and-spaces', dockerfile: 'FROM {{BASE}}\nCOPY . /c/\n', files: { '.dockerignore': 'a.txt\r\n  b.txt  \r\n# comment\r\n\r\nsub/*.log\r\n', 'a.txt': 'a', 'b.txt': 'b', 'c.txt': 'c', 'sub/x.log': 'l', 'sub/y.txt': 'y' } },
  { name: 'dockerignore-leading-slash-dot', dockerfile: 'FROM {{BASE}}\nCOPY . /c/\n', files: { '.dockerignore': '/a\n./b\nc/\n**/d\n!c/keep\n', a: 'a', b: 'b', 'c/x': 'x', 'c/keep': 'k', 'e/d': 'd', 'e/f': 'f' } },
  { name: 'dockerignore-star-then-exceptions', dockerfile: 'FROM {{BASE}}\nCOPY . /c/\n', files: { '.dockerignore': '*\n!src\n!src/**\nsrc/**/*.tmp\n!Dockerfile\n', src: { dir: true }, 'src/a.js': 'a', 'src/b.tmp': 'b', 'src/d/c.tmp': 'c', other: 'o' } },
  { name: 'dockerignore-question-and-class', dockerfile: 'FROM {{BASE}}\nCOPY . /c/\n', files: { '.dockerignore': 'file?.txt\n[ab].md\n', 'file1.txt': '1', 'file10.txt': '10', 'a.md': 'a', 'c.md': 'c' } },
  { name: 'copy-dir-with-ignored-file', dockerfile: 'FROM {{BASE}}\nCOPY keep/ /k/\n', files: { '.dockerignore': 'keep/secret\n', 'keep/secret': 's', 'keep/ok': 'o' } },
  { name: 'copy-wildcard-beside-a-match', dockerfile: 'FROM {{BASE}}\nCOPY a nomatch* /d/\n', files: { a: 'a' } },
];
