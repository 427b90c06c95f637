import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BuildError } from '@tbuild/errors';
import { IgnoreMatcher, loadIgnoreFile, parseDockerignore } from './index.ts';
import { tempTree } from './test-support.ts';

function matcher(...lines: string[]): IgnoreMatcher {
  return new IgnoreMatcher(parseDockerignore(lines.join('\n')));
}

// [patterns, path, excluded]: Docker's documented rules and moby/patternmatcher's behaviour.
const table: Array<[string[], string, boolean]> = [
  [['*'], 'fileutils.go', true],
  [['*.go'], 'fileutils.go', true],
  [['*.go'], 'dir/fileutils.go', false],
  [['*/*.go'], 'dir/fileutils.go', true],
  [['*/*/temp*'], 'somedir/subdir/temporary.txt', true],
  [['temp?'], 'tempa', true],
  [['temp?'], 'temp', false],
  [['temp?'], 'temp/x', false],
  [['!fileutils.go', '*.go'], 'fileutils.go', true],
  [['*.go', '!fileutils.go'], 'fileutils.go', false],
  [['docs'], 'docs/README.md', true],
  [['docs', '!docs/README.md'], 'docs/README.md', false],
  [['docs/', '!docs/README.md'], 'docs/README.md', false],
  [['docs/*', '!docs/README.md'], 'docs/README.md', false],
  [['docs', '!docs/sub'], 'docs/sub/deep/x', false],
  [['docs', '!docs/sub'], 'docs/other', true],
  [['**'], 'dir/file', true],
  [['**/'], 'file', true],
  [['**/**'], 'dir/file', true],
  [['dir/**'], 'dir/dir2/file', true],
  [['**/dir'], 'dir', true],
  [['**/dir'], 'a/b/dir/file', true],
  [['**/dir2/*'], 'dir/dir2/file', true],
  [['**file'], 'dir/dir/file', true],
  [['**/file*.txt'], 'dir/dir/file.txt', true],
  [['**/**/*.txt2'], 'dir/dir/file.txt', false],
  [['**/*.txt'], 'file.txt', true],
  [['a**/*.txt'], 'a/dir/dir/file.txt', true],
  [['a/*.txt'], 'a/dir/file.txt', false],
  [['a[b-d]e'], 'ace', true],
  [['a[b-d]e'], 'aae', false],
  [['a[^b-d]e'], 'aze', true],
  [['.*'], '.foo', true],
  [['.*'], 'foo', false],
  [['abc.def'], 'abcZdef', false],
  [['abc?def'], 'abcZdef', true],
  [['abc/**'], 'abc', false],
  [['abc/**'], 'abc/def', true],
  [['**/.foo'], 'bar.foo', false],
  [['a(b)c/def'], 'a(b)c/def', true],
  [['a.|)$(}+{bc'], 'a.|)$(}+{bc', true],
  [['dist/*.whl'], 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', true],
  [['**', '!util/docker/web'], 'util/docker/web/foo', false],
  [['**', '!util/docker/web', 'util/docker/web/foo'], 'util/docker/web/foo', true],
  [['a\\*b'], 'a*b', true],
  [['a\\*b'], 'axb', false],
  [['/node_modules'], 'node_modules/x/index.js', true],
  [['./build/../dist'], 'dist/a.js', true],
  [['  secret.txt  '], 'secret.txt', true],
  [['# secret.txt'], 'secret.txt', false],
  [[' # secret.txt'], '# secret.txt', true],
  [['!  /keep', '*'], 'keep', true],
  [['*', '!  /keep'], 'keep', false],
  [['a/b', '!a'], 'a/b/c', true],
];

describe('IgnoreMatcher', () => {
  it.each(table)('%j on %s → %s', (patterns, p, excluded) => {
    expect(matcher(...patterns).matches(p, false)).toBe(excluded);
  });

  it('never excludes the context root itself', () => {
    expect(matcher('*').matches('.', true)).toBe(false);
    expect(matcher('**').matches('', true)).toBe(false);
  });

  it('knows when a directory can be skipped without reading it', () => {
    expect(matcher('node_modules').excludesWholeDir('node_modules')).toBe(true);
    expect(matcher('node_modules', '!node_modules/keep').excludesWholeDir('node_modules')).toBe(false);
    expect(matcher('node_modules', '!other/keep').excludesWholeDir('node_modules')).toBe(true);
    // A wildcard exception could match anywhere, so nothing excluded may be skipped.
    expect(matcher('node_modules', '!**/*.md').excludesWholeDir('node_modules')).toBe(false);
    expect(matcher('src').excludesWholeDir('lib')).toBe(false);
  });
});

describe('parseDockerignore', () => {
  it('strips the BOM and CRs, skips comments at column 0 and blank lines, cleans patterns', () => {
    const parsed = parseDockerignore('\uFEFF# comment\r\n\r\n /a/../b/ \r\n!/c//d\r\n  # not a comment');
    expect(parsed).toEqual([
      { pattern: 'b', negate: false, line: 3 },
      { pattern: 'c/d', negate: true, line: 4 },
      { pattern: '# not a comment', negate: false, line: 5 },
    ]);
  });

  it('rejects a lone "!" and a malformed pattern with the line and file', () => {
    const bang = (): unknown => parseDockerignore('ok\n!\n', 'app.Dockerfile.dockerignore');
    expect(bang).toThrow(BuildError);
    expect(bang).toThrow('illegal exclusion pattern: "!"');
    try {
      parseDockerignore('ok\nsrc/[a-\n');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(BuildError);
      const err = e as BuildError;
      expect(err.code).toBe('TB_CONTEXT_BAD_PATTERN');
      expect(err.location?.range.start.line).toBe(2);
      expect(err.message).toContain('src/[a-');
    }
  });
});

describe('loadIgnoreFile', () => {
  function ctx(): string {
    return tempTree('tb-ignore-');
  }

  it('prefers <Dockerfile>.dockerignore next to the Dockerfile over the context .dockerignore', async () => {
    const dir = ctx();
    mkdirSync(path.join(dir, 'docker'));
    writeFileSync(path.join(dir, '.dockerignore'), 'root-rule\n');
    writeFileSync(path.join(dir, 'docker/app.Dockerfile'), 'FROM scratch\n');
    writeFileSync(path.join(dir, 'docker/app.Dockerfile.dockerignore'), 'app-rule\n');
    const app = await loadIgnoreFile(dir, 'docker/app.Dockerfile');
    expect(app.patterns.map((p) => p.pattern)).toEqual(['app-rule']);
    const plain = await loadIgnoreFile(dir, 'Dockerfile');
    expect(plain.patterns.map((p) => p.pattern)).toEqual(['root-rule']);
    expect((await loadIgnoreFile(ctx())).isEmpty).toBe(true);
  });

  it('refuses a .dockerignore symlinked to a file outside the context', async () => {
    const outside = ctx();
    writeFileSync(path.join(outside, 'host-file'), 'x\n');
    const dir = ctx();
    symlinkSync(path.join(outside, 'host-file'), path.join(dir, '.dockerignore'));
    await expect(loadIgnoreFile(dir)).rejects.toMatchObject({ code: 'TB_CONTEXT_IGNORE_FILE_ESCAPES' });
  });

  it('follows a .dockerignore symlink that stays inside the context', async () => {
    const dir = ctx();
    writeFileSync(path.join(dir, 'ignore.txt'), 'secret\n');
    symlinkSync('ignore.txt', path.join(dir, '.dockerignore'));
    const m = await loadIgnoreFile(dir);
    expect(m.matches('secret', false)).toBe(true);
  });
});

describe('IgnoreMatcher.wholeDirs', () => {
  const whole = (text: string) => new IgnoreMatcher(parseDockerignore(text)).wholeDirs();

  it('lists literal directories and **/NAME, never a wildcard pattern', () => {
    expect(whole('node_modules\n**/.git\nbuild/out\n*.log\n**/*.tmp\ndocs/**\n')).toEqual({ paths: ['node_modules', 'build/out'], names: ['.git'] });
  });

  it('leaves out what a ! pattern can bring back', () => {
    expect(whole('node_modules\n!node_modules/keep\ndist\n**/.git\n')).toEqual({ paths: ['dist'], names: [] });
    expect(whole('node_modules\n!node_modules\n')).toEqual({ paths: [], names: [] });
  });
});
