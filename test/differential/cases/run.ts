import type { DiffCase } from '../support/case.ts';

/** RUN: filesystem change shapes the layer differ must get right, shells, users, mounts. */
export const RUN_CASES: DiffCase[] = [
  {
    name: 'run-shapes',
    dockerfile: [
      'FROM {{BASE}}',
      'RUN mkdir -p /a/b/c && echo 1 > /a/b/c/f && ln -s b /a/l && chmod 0700 /a/b && mkfifo /a/fifo',
      'RUN rm -rf /a/b && echo replaced > /a/new && rm /bin/vi',
      'RUN rm -rf /a && mkdir /a && echo fresh > /a/only',
    ].join('\n'),
  },
  {
    name: 'run-hardlinks',
    dockerfile: [
      'FROM {{BASE}}',
      'RUN echo x > /f1 && ln /f1 /f2 && mkdir /d && ln /f1 /d/f3',
      'RUN ln /etc/passwd /pw && echo appended >> /pw && ln /etc/group /grp',
      'RUN echo y >> /f2',
    ].join('\n'),
  },
  {
    name: 'run-metadata-only-changes',
    dockerfile: [
      'FROM {{BASE}}',
      'RUN echo content > /m && ln -s aaaa /s && mkdir /dd',
      'RUN chmod 600 /m && chown 5:6 /dd && rm /s && ln -s bbbb /s && touch -d @0 /m',
    ].join('\n'),
  },
  {
    name: 'run-opaque-dir',
    dockerfile: 'FROM {{BASE}}\nRUN mkdir -p /etc/x/y && echo a > /etc/x/y/a && echo b > /etc/x/b\nRUN rm -rf /etc/x && mkdir -p /etc/x/y && echo c > /etc/x/c\n',
  },
  {
    name: 'run-exec-form-and-shell',
    dockerfile: [
      'FROM {{BASE}}',
      'RUN ["/bin/sh", "-c", "echo exec > /exec"]',
      'RUN ["echo", "$HOME"]',
      'SHELL ["/bin/sh", "-xc"]',
      'RUN echo shell-changed > /shell',
      'RUN echo "$0" > /zero',
    ].join('\n'),
  },
  {
    name: 'run-env-and-args',
    dockerfile: [
      'FROM {{BASE}}',
      'ARG A=default',
      'ARG B',
      'ENV E1=env1 E2="two words"',
      'RUN env | grep -E "^(A|B|E1|E2|HOME|PATH|HOSTNAME)=" | sort > /env',
      'ARG A',
      'RUN echo "$A-$B" > /args',
    ].join('\n'),
    buildArgs: { B: 'from-cli', UNUSED: 'x' },
  },
  {
    name: 'run-as-user',
    dockerfile: [
      'FROM {{BASE}}',
      'RUN mkdir -p /home/app && chown app:app /home/app',
      'USER app',
      'RUN id > /tmp/id && touch /home/app/mine',
      'USER 1234:4321',
      'RUN touch /tmp/numeric',
      'USER root',
      'RUN cat /tmp/id > /id',
    ].join('\n'),
  },
  {
    name: 'run-workdir-created',
    dockerfile: 'FROM {{BASE}}\nUSER app\nWORKDIR /made/by/app\nRUN pwd > /tmp/pwd\nUSER root\nWORKDIR /\nWORKDIR /made\nRUN pwd > /pwd\n',
  },
  {
    name: 'run-mount-bind-context',
    dockerfile: 'FROM {{BASE}}\nRUN --mount=type=bind,target=/src cat /src/data > /copied && ls /src > /listing\nRUN --mount=type=bind,source=sub,target=/s,rw echo scribble > /s/new && ls /s > /sub-listing\n',
    files: { data: 'payload\n', 'sub/one': '1' },
    mountStubs: ['/src', '/s'],
  },
  {
    name: 'run-mount-bind-from-stage',
    dockerfile: 'FROM {{BASE}} AS tools\nRUN mkdir /out && echo tool > /out/tool\nFROM {{BASE}}\nRUN --mount=type=bind,from=tools,source=/out,target=/t cp /t/tool /tool\n',
    mountStubs: ['/t'],
  },
  {
    name: 'run-mount-cache-tmpfs',
    mountStubs: ['/var', '/var/cache', '/var/cache/x', '/c2', '/scratch'],
    dockerfile: [
      'FROM {{BASE}}',
      'RUN --mount=type=cache,target=/var/cache/x echo cached > /var/cache/x/f && ls -ld /var/cache/x | cut -c1-10 > /cache-mode',
      'RUN --mount=type=cache,target=/c2,uid=1000,gid=1000,mode=0700 stat -c "%u:%g %a" /c2 > /c2-stat',
      'RUN --mount=type=tmpfs,target=/scratch echo t > /scratch/t && ls /scratch > /tmpfs-listing',
    ].join('\n'),
  },
  {
    name: 'run-mount-secret',
    dockerfile: [
      'FROM {{BASE}}',
      'RUN --mount=type=secret,id=tok cat /run/secrets/tok | wc -c > /secret-len',
      'RUN --mount=type=secret,id=tok,target=/etc/tok,mode=0440,uid=1000 stat -c "%a %u" /etc/tok > /secret-stat',
      'RUN --mount=type=secret,id=absent ls /run/secrets > /absent-listing || true',
    ].join('\n'),
    secrets: { tok: 'super-secret-value' },
    mountStubs: ['/run', '/run/secrets'],
  },
  {
    name: 'run-type-changes',
    dockerfile: [
      'FROM {{BASE}}',
      'RUN mkdir -p /t/dir2file/x /t/file2dir /t/link2dir && echo f > /t/f2d && ln -s /etc /t/l2d && echo keep > /t/dir2file/x/k',
      'RUN rm -rf /t/dir2file && echo now-a-file > /t/dir2file && rm /t/f2d && mkdir /t/f2d && touch /t/f2d/in && rm /t/l2d && mkdir /t/l2d',
      'RUN chmod 4755 /t/dir2file && chmod 1777 /t/f2d && chown -h 7:7 /t/l2d',
    ].join('\n'),
  },
  {
    name: 'run-hardlink-across-layers',
    dockerfile: 'FROM {{BASE}}\nRUN echo shared > /a\nRUN ln /a /b && ln /a /c\nRUN rm /a\n',
  },
  {
    // What USER reaches: RUN runs as it, the files COPY writes stay root's, WORKDIR makes a dir.
    name: 'user-then-copy-and-run',
    dockerfile: 'FROM {{BASE}}\nUSER 1000:1000\nCOPY f /f\nRUN touch /tmp/x && id > /tmp/id\nWORKDIR /made\n',
    files: { f: 'x' },
  },
  {
    name: 'run-mount-bind-rw-subpath',
    dockerfile: 'FROM {{BASE}} AS s\nRUN mkdir -p /src/sub && echo s > /src/sub/f\nFROM {{BASE}}\nRUN --mount=type=bind,from=s,source=/src/sub,target=/m,rw echo changed > /m/f && cat /m/f > /out\nRUN --mount=type=bind,from=s,source=/src/sub,target=/m cat /m/f > /out2\n',
    mountStubs: ['/m'],
  },
  {
    // One id, two owners: BuildKit gives the uid/gid/mode mount a cache of its own.
    name: 'run-mount-cache-owner-and-id',
    dockerfile: 'FROM {{BASE}}\nRUN --mount=type=cache,target=/c,id=shared,uid=1000,gid=1000,mode=0750 stat -c "%u %g %a" /c > /st && touch /c/x\nRUN --mount=type=cache,target=/other,id=shared ls /other > /ls\n',
    mountStubs: ['/c', '/other'],
  },
  {
    name: 'volume-then-run-writes',
    dockerfile: 'FROM {{BASE}}\nVOLUME /data\nRUN mkdir -p /data && echo kept > /data/f\nCOPY f /data/g\n',
    files: { f: 'f' },
  },
  {
    name: 'run-special-files-and-modes',
    dockerfile: 'FROM {{BASE}}\nRUN mknod /null2 c 1 3 && mkfifo /fifo && ln -s /nowhere /dangling && chown -h 5:6 /dangling\nRUN mkdir -p /s /g && chmod 1777 /s && chmod 2755 /g && touch /g/f && chmod 4711 /g/f && chmod 000 /g\n',
  },
  {
    name: 'run-deletes-base-dir',
    dockerfile: 'FROM {{BASE}}\nRUN rm -rf /root /tmp/* && mkdir /root && touch /root/.profile\n',
  },
  // RUN layers whose only change is what BuildKit records for the runtime's files or the root dir: trees compared, history not (docs/differences.md).
  { name: 'run-writes-runtime-files', dockerfile: 'FROM {{BASE}}\nRUN echo "1.2.3.4 extra" >> /etc/hosts; echo "nameserver 9.9.9.9" > /etc/resolv.conf; echo host > /etc/hostname; true\nRUN cat /etc/hosts | grep -c extra > /count || echo none > /count\n', history: false },
  { name: 'run-create-and-remove', dockerfile: 'FROM {{BASE}}\nRUN touch /a && rm /a && mkdir -p /tmp/x && rmdir /tmp/x\n' },
  { name: 'run-chmod-root-dir', dockerfile: 'FROM {{BASE}}\nRUN chmod 700 / && chmod 755 /\nRUN chmod 750 /root\n', history: false },
  { name: 'run-replace-dir-with-file-and-back', dockerfile: 'FROM {{BASE}}\nRUN mkdir -p /x/y && echo 1 > /x/y/z\nRUN rm -rf /x && echo file > /x\nRUN rm /x && mkdir /x && echo 2 > /x/new\n' },
  { name: 'run-opaque-then-readd', dockerfile: 'FROM {{BASE}}\nRUN mkdir -p /d && echo a > /d/a && echo b > /d/b\nRUN rm -rf /d && mkdir /d && echo c > /d/c\nRUN echo a2 > /d/a\n' },
  { name: 'run-rename-across-dirs', dockerfile: 'FROM {{BASE}}\nRUN mkdir -p /m/src && echo x > /m/src/f\nRUN mv /m/src /m/dst && mv /bin/cat /bin/cat2 && ln -s cat2 /bin/cat\n' },
  { name: 'run-symlink-dir-swap', dockerfile: 'FROM {{BASE}}\nRUN mkdir /real && echo r > /real/f && ln -s real /link\nRUN rm /link && mkdir /link && echo l > /link/g\n' },
  { name: 'passwd-edit-then-user-and-chown', dockerfile: 'FROM {{BASE}}\nRUN echo "bob:x:1234:1234::/home/bob:/bin/sh" >> /etc/passwd && echo "bob:x:1234:" >> /etc/group && echo "team:x:2345:bob" >> /etc/group && mkdir -p /home/bob && chown 1234:1234 /home/bob\nUSER bob\nRUN id > /tmp/id\nWORKDIR /home/bob/work\nCOPY --chown=bob f ./f\nCOPY --chown=bob:team f ./g\nUSER root\nRUN stat -c "%u %g" /home/bob/work /home/bob/work/f /home/bob/work/g > /st\n', files: { f: 'f' } },
  { name: 'mount-bind-context-subdir-rw', dockerfile: 'FROM {{BASE}}\nRUN --mount=type=bind,source=sub,target=/s,rw echo changed > /s/f && cat /s/f > /out && ls /s > /ls\n', files: { 'sub/f': 'orig', 'sub/g': 'g', other: 'o' }, mountStubs: ['/s'] },
  // from=: the cache starts as a copy of that stage's source dir.
  { name: 'mount-cache-from-stage', dockerfile: 'FROM {{BASE}} AS seed\nRUN mkdir -p /seed && echo seeded > /seed/s\nFROM {{BASE}}\nRUN --mount=type=cache,target=/c,from=seed,source=/seed ls /c > /ls && cat /c/s > /s\n', mountStubs: ['/c'] },
  { name: 'mount-tmpfs-and-secret-target', dockerfile: 'FROM {{BASE}}\nRUN --mount=type=tmpfs,target=/t touch /t/x && ls /t > /tls\nRUN --mount=type=secret,id=tok,target=/run/secrets/custom cat /run/secrets/custom | wc -c > /len\n', secrets: { tok: 'abc' }, mountStubs: ['/t', '/run', '/run/secrets', '/run/secrets/custom'] },
  { name: 'mount-bind-file-target', dockerfile: 'FROM {{BASE}}\nRUN --mount=type=bind,source=one.txt,target=/etc/one.txt cat /etc/one.txt > /got\n', files: { 'one.txt': 'one' }, mountStubs: ['/etc/one.txt'] },
  { name: 'run-large-ids-long-names', dockerfile: `FROM {{BASE}}\nRUN touch /a && chown 3000000:4000000 /a && ln -s ${'x'.repeat(150)} /longlink && mkdir -p /${'d'.repeat(120)}/${'d'.repeat(120)} && echo x > /${'d'.repeat(120)}/${'d'.repeat(120)}/${'x'.repeat(150)}\n` },
  { name: 'mount-target-relative-to-workdir', dockerfile: 'FROM {{BASE}}\nWORKDIR /w\nRUN --mount=type=cache,target=cache touch cache/x && ls -a /w > /ls\n', mountStubs: ['/w/cache'] },
  // What a RUN sees of its sandbox: identity, capabilities, seccomp, limits, env, devices, /etc/hosts, masked /proc and /sys.
  { name: 'sandbox-identity', dockerfile: 'FROM {{BASE}}\nRUN id > /o.id; umask > /o.umask; hostname > /o.hostname; ls /sys/class/net > /o.nets; grep -E "^Cap(Inh|Prm|Eff|Bnd|Amb)" /proc/self/status > /o.caps; grep -E "^(NoNewPrivs|Seccomp)" /proc/self/status > /o.sec; ulimit -n > /o.nofile; ulimit -u > /o.nproc; ulimit -s > /o.stack; env | sort > /o.env; true\n' },
  { name: 'sandbox-dev-and-dirs', dockerfile: 'FROM {{BASE}}\nRUN ls -la /dev | awk \'{print $1, $3, $4, $NF}\' | sort > /o.dev; stat -c "%n %a %U" /tmp /dev/shm /proc /sys > /o.dirs; cat /etc/hosts > /o.hosts; ls -la /dev/pts | wc -l > /o.pts; true\n' },
  { name: 'sandbox-user-env', dockerfile: 'FROM {{BASE}}\nRUN echo "app:x:1001:1001:App:/home/app:/bin/sh" >> /etc/passwd && echo "app:x:1001:" >> /etc/group && mkdir -p /home/app && chown app /home/app\nUSER app\nRUN env | sort > /tmp/env; id > /tmp/id; echo ~ > /tmp/home; umask > /tmp/umask; true\n' },
  { name: 'sandbox-proc-and-sys', dockerfile: 'FROM {{BASE}}\nRUN (touch /proc/sysrq-trigger 2>&1 || true) > /o.sysrq; (echo 1 > /proc/sys/kernel/panic) 2>&1 | sed "s/.*: //" > /o.procsys; (touch /sys/x 2>&1 || true) | sed "s/.*: //" > /o.sys; ls /proc/acpi /proc/kcore /proc/keys /proc/timer_list 2>&1 | sort > /o.masked; true\n' },
  // Each syscall docker's seccomp profile has a say on, as a static probe sees it (support/syscall-probe.c).
  { name: 'sandbox-syscalls', dockerfile: 'FROM {{BASE}}\nCOPY probe /probe\nRUN /probe > /o.probe\n', files: { probe: { compile: 'syscall-probe.c' } } },
  // Times a RUN sets explicitly reach the layer to the second, symlinks' own included.
  { name: 'run-explicit-mtimes', dockerfile: 'FROM {{BASE}}\nRUN mkdir -p /d/sub && echo x > /d/f && touch -d "2001-02-03 04:05:06" /d/f /d/sub && touch -h -d "1999-12-31 23:59:59" /d && ln -s f /d/l && touch -h -d "2010-01-01 00:00:00" /d/l && touch -d @0 /zero\n', mtimes: ['/d/f', '/d/sub', '/d/l', '/zero'] },
  { name: 'run-sparse-and-big', dockerfile: 'FROM {{BASE}}\nRUN dd if=/dev/zero of=/sparse bs=1M seek=64 count=0 2>/dev/null && dd if=/dev/zero of=/dense bs=1M count=3 2>/dev/null && printf x >> /sparse\n' },
  { name: 'mount-secret-not-required', dockerfile: 'FROM {{BASE}}\nRUN --mount=type=secret,id=nope,required=false (cat /run/secrets/nope 2>/dev/null || echo absent) > /o\n', mountStubs: ['/run', '/run/secrets', '/run/secrets/nope'] },
  { name: 'mount-cache-readonly', dockerfile: 'FROM {{BASE}}\nRUN --mount=type=cache,target=/c,ro=true (touch /c/x 2>&1 && echo wrote || echo refused) > /o\n', mountStubs: ['/c'] },
  { name: 'mount-secret-uid-mode', dockerfile: 'FROM {{BASE}}\nRUN --mount=type=secret,id=s,uid=7,gid=8,mode=0440 stat -c "%u %g %a" /run/secrets/s > /o\n', secrets: { s: 'x' }, mountStubs: ['/run', '/run/secrets', '/run/secrets/s'] },
  { name: 'mount-two-dirs-of-one-stage', dockerfile: 'FROM {{BASE}} AS s\nRUN mkdir -p /a /b && echo a > /a/f && echo b > /b/f\nFROM {{BASE}}\nRUN --mount=type=bind,from=s,source=/a,target=/ma --mount=type=bind,from=s,source=/b,target=/mb cat /ma/f /mb/f > /both\n', mountStubs: ['/ma', '/mb'] },
];
