import type { DiffCase } from '../support/case.ts';

/** Instructions that only change the image config, and variable expansion in them. */
export const CONFIG_CASES: DiffCase[] = [
  {
    name: 'cmd-entrypoint-forms',
    dockerfile: 'FROM {{BASE}}\nCMD echo shell form\nENTRYPOINT ["/bin/echo", "x"]\nCMD ["json", "form"]\n',
  },
  {
    name: 'entrypoint-clears-inherited-cmd',
    dockerfile: 'FROM {{BASE}}\nENTRYPOINT /bin/true --flag\n',
  },
  {
    name: 'shell-affects-cmd',
    dockerfile: 'FROM {{BASE}}\nSHELL ["/bin/ash", "-eo", "pipefail", "-c"]\nCMD run me\nENTRYPOINT exec it\n',
  },
  {
    name: 'env-forms',
    dockerfile: [
      'FROM {{BASE}}',
      'ENV PATH=/opt/bin:$PATH',
      'ENV LEGACY value with spaces',
      'ENV A=1 B="quoted $A" C=\'single $A\' D=${A}x E=\\$escaped',
      'ENV A=2 F=$A',
      'ENV EMPTY=',
    ].join('\n'),
  },
  {
    name: 'label-maintainer',
    dockerfile: [
      'FROM {{BASE}}',
      'MAINTAINER Someone <someone@example.com>',
      'ARG VERSION=1.2.3',
      'LABEL version=$VERSION "with space"="a b" multi.line="one \\',
      '  two"',
      'LABEL legacy this is legacy',
      'LABEL version=override',
    ].join('\n'),
  },
  {
    name: 'expose-volume',
    dockerfile: 'FROM {{BASE}}\nARG PORT=8080\nEXPOSE 80 $PORT/tcp 53/udp 443/TCP\nVOLUME /data\nVOLUME ["/v1", "/v2"]\nVOLUME /a /b\n',
  },
  {
    name: 'user-workdir-stopsignal',
    dockerfile: 'FROM {{BASE}}\nENV DIR=/srv\nWORKDIR $DIR\nWORKDIR app\nUSER app:app\nSTOPSIGNAL SIGTERM\nSTOPSIGNAL 9\n',
  },
  {
    name: 'healthcheck-forms',
    dockerfile: 'FROM {{BASE}}\nHEALTHCHECK --interval=5s --timeout=3s --start-period=1m30s --retries=4 CMD wget -q localhost || exit 1\n',
  },
  {
    name: 'healthcheck-exec-and-none',
    dockerfile: 'FROM {{BASE}} AS a\nHEALTHCHECK CMD ["/bin/true"]\nFROM a\nHEALTHCHECK NONE\n',
  },
  {
    name: 'onbuild-recorded',
    dockerfile: 'FROM {{BASE}}\nONBUILD RUN echo triggered > /onbuild\nONBUILD COPY . /app/\nonbuild env X=1\n',
  },
  {
    name: 'arg-scoping-and-defaults',
    dockerfile: [
      'ARG GLOBAL=g1',
      'ARG IMG_TAG=1',
      'FROM {{BASE}}',
      'ARG GLOBAL',
      'ARG LOCAL=${GLOBAL}-local',
      'ENV FROM_ARG=$LOCAL UNSET=${NOPE:-fallback} SET=${GLOBAL:+was-set} NOT=${NOPE:+x}',
      'LABEL global=$GLOBAL',
    ].join('\n'),
    buildArgs: { GLOBAL: 'cli' },
  },
  {
    name: 'predefined-args-not-in-config',
    dockerfile: 'FROM {{BASE}}\nARG HTTP_PROXY\nARG no_proxy\nRUN echo "$HTTP_PROXY|$no_proxy" > /proxy\nENV KEEP=yes\n',
    buildArgs: { HTTP_PROXY: 'http://proxy.invalid:3128', no_proxy: 'localhost' },
  },
  {
    // Each name in one ENV sees the values from before that instruction.
    name: 'env-same-instruction',
    dockerfile: 'FROM {{BASE}}\nENV A=1\nENV A=2 B=$A C=${A}x\nRUN echo "$A $B $C" > /out\n',
  },
  {
    name: 'arg-default-from-arg',
    dockerfile: 'FROM {{BASE}}\nARG A=1\nARG B=${A}2\nARG C\nRUN echo "$A $B ${C:-none}" > /out\n',
    buildArgs: { A: '9' },
  },
  {
    name: 'label-quoting',
    dockerfile: 'FROM {{BASE}}\nLABEL "a b"="c d" e=\'f g\' h=i\\ j k="l\\"m"\n',
  },
  {
    name: 'workdir-env-and-relative',
    dockerfile: 'FROM {{BASE}}\nENV D=/app\nWORKDIR $D/sub\nWORKDIR ../other\nRUN pwd > /pwd\n',
  },
  {
    name: 'workdir-through-symlink',
    dockerfile: 'FROM {{BASE}}\nRUN mkdir /real && ln -s /real /link\nWORKDIR /link/sub\nRUN pwd > here\nCOPY f .\n',
    files: { f: 'x' },
  },
  {
    name: 'workdir-relative-first',
    dockerfile: 'FROM {{BASE}}\nWORKDIR rel\nWORKDIR more\nRUN pwd > /pwd\n',
  },
  {
    name: 'env-path-extended',
    dockerfile: 'FROM {{BASE}}\nENV PATH=$PATH:/opt/bin\nRUN mkdir -p /opt/bin && printf "#!/bin/sh\\necho ran\\n" > /opt/bin/tool && chmod +x /opt/bin/tool\nRUN tool > /out\n',
  },
  {
    name: 'run-continuation-with-comments',
    dockerfile: 'FROM {{BASE}}\nRUN echo a \\\n# a comment inside\n    && echo b \\\n\n    && echo c > /x\n',
  },
  {
    name: 'arg-in-from-override',
    dockerfile: 'ARG TAG=nope\nARG BASE={{BASE}}\nFROM ${BASE}\nARG TAG\nRUN echo "${TAG}" > /tag\n',
    buildArgs: { TAG: 'given' },
  },
  {
    name: 'user-workdir-ownership',
    dockerfile: 'FROM {{BASE}}\nUSER 1000:1000\nWORKDIR /w/deeper\nUSER nobody\nWORKDIR /n\n',
  },
  {
    name: 'env-special-values',
    dockerfile: 'FROM {{BASE}}\nENV X="a b" Y=c\\ d Z=\'$X\' W="${X:+set}"\nRUN echo "$X|$Y|$Z|$W" > /o\n',
  },
  {
    name: 'expose-range-and-proto',
    dockerfile: 'FROM {{BASE}}\nEXPOSE 8000-8002/tcp 53/udp 80\n',
  },
  {
    name: 'labels-env-inherit-and-override',
    dockerfile: 'FROM {{BASE}} AS a\nLABEL x=1 y=2\nENV E=1\nFROM a\nLABEL y=3 z=4\nENV E=2 F=$E\n',
  },
  {
    name: 'stopsignal-name-and-number',
    dockerfile: 'FROM {{BASE}} AS named\nSTOPSIGNAL SIGKILL\nFROM {{BASE}}\nSTOPSIGNAL 9\n',
  },
  {
    name: 'shell-then-cmd-and-entrypoint',
    dockerfile: 'FROM {{BASE}}\nSHELL ["/bin/sh", "-ec"]\nCMD echo hi\nENTRYPOINT echo ep\nRUN echo x > /x\n',
  },
  {
    name: 'escape-directive',
    dockerfile: '# escape=`\nFROM {{BASE}}\nRUN echo one `\n  two > /joined\nENV P=C:\\path\\x\n',
  },
  { name: 'env-value-with-equals-and-arg', dockerfile: 'FROM {{BASE}}\nARG V=1\nENV A=b=c W=$V\nARG A=argval\nRUN echo "$A $W" > /o\n' },
  { name: 'user-root-root-and-arg-workdir', dockerfile: 'FROM {{BASE}}\nARG D=/arg/dir\nUSER root:root\nWORKDIR $D\nRUN pwd > /pwd && id -u > /id\n' },
  { name: 'undeclared-build-arg-and-proxy', dockerfile: 'FROM {{BASE}}\nRUN echo "[$UNUSED][$HTTP_PROXY]" > /o\n', buildArgs: { UNUSED: 'x', HTTP_PROXY: 'http://proxy:3128' } },
  { name: 'duplicate-expose-volume', dockerfile: 'FROM {{BASE}}\nEXPOSE 80 80/tcp\nVOLUME ["/a", "/a"]\nVOLUME /a\n' },
  { name: 'label-multiline', dockerfile: 'FROM {{BASE}}\nLABEL a="one" \\\n      b="two words" \\\n      c=three\n' },
  { name: 'onbuild-multiple-and-maintainer', dockerfile: 'FROM {{BASE}} AS p\nMAINTAINER someone <a@b.c>\nONBUILD RUN echo one > /one\nONBUILD ENV FROM_PARENT=1\nONBUILD LABEL via=onbuild\nFROM p\nRUN echo "$FROM_PARENT" > /env\n' },
  { name: 'arg-in-label-and-env-multiline', dockerfile: 'FROM {{BASE}}\nARG VER=1.2\nLABEL version=$VER "built.with"="x${VER}y"\nENV A=1 \\\n    B=2 \\\n    C="three four"\n' },
  { name: 'user-numeric-unknown-ids', dockerfile: 'FROM {{BASE}}\nUSER 4321:8765\nRUN id > /tmp/id && touch /tmp/mine\nUSER 4321\nRUN id > /tmp/id2\n' },
  { name: 'crlf-line-endings', dockerfile: 'FROM {{BASE}}\r\nRUN echo a \\\r\n  b > /f\r\nENV A=1 \\\r\n  B=2\r\nLABEL x=y\r\n# c\r\nCMD ["sh"]\r\n' },
  { name: 'utf8-bom', dockerfile: '\uFEFFFROM {{BASE}}\nRUN echo a > /f\n' },
  { name: 'env-beats-arg', dockerfile: 'FROM {{BASE}}\nARG X=a\nENV X=b\nRUN echo $X > /1\nARG X=c\nRUN echo $X > /2\nARG Y=y\nENV Z=$Y\n', buildArgs: { X: 'd', Y: 'e' } },
  { name: 'user-name-and-group-names', dockerfile: 'FROM {{BASE}}\nRUN echo "bob:x:1234:1234::/home/bob:/bin/sh" >> /etc/passwd && echo "bob:x:1234:" >> /etc/group && echo "team:x:2345:bob" >> /etc/group && echo "other:x:3456:" >> /etc/group\nUSER bob:team\nRUN id > /tmp/a\nUSER 1234:other\nRUN id > /tmp/b\nUSER bob:3456\nRUN id > /tmp/c\nUSER 77\nRUN id > /tmp/d\n' },
  { name: 'unicode-labels-env-paths', dockerfile: 'FROM {{BASE}}\nLABEL "ключ"="значение 🚀" emoji=✓\nENV ÜBER=größe\nWORKDIR /données\nCOPY ["файл.txt", "./"]\nRUN echo "$ÜBER" > out && ls > ls\n', files: { 'файл.txt': 'x' } },
  { name: 'arg-in-from-with-default-expansions', dockerfile: 'ARG REG=\nARG NAME\nFROM {{BASE}}${REG:+/nope}\nARG NAME=fallback\nRUN echo "${NAME:-unset}" > /name\n' },
  { name: 'exec-form-no-expansion-and-env', dockerfile: 'FROM {{BASE}}\nENV X=1\nRUN ["sh", "-c", "echo $X $HOME > /e"]\nRUN ["/bin/sh", "-c", "echo \\"$0\\" > /zero"]\nCMD ["echo", "$X"]\n' },
  { name: 'continuation-at-eof', dockerfile: 'FROM {{BASE}}\nRUN echo a > /a \\' },
  { name: 'cmd-without-args', dockerfile: 'FROM {{BASE}}\nCMD\n' },
  { name: 'arg-and-env-odd-names', dockerfile: 'FROM {{BASE}}\nARG 1A=x\nARG A-B=y\nENV C-D=1 c.d=2\nRUN echo "[$1A]" > /o\n' },
  { name: 'env-escaped-dollar', dockerfile: 'FROM {{BASE}}\nENV A=\\$HOME B="\\$X" C=\'$HOME\'\nRUN echo "$A|$B|$C" > /o\n' },
  { name: 'arg-path-under-image-env', dockerfile: 'FROM {{BASE}}\nARG PATH=/argpath\nRUN echo "$PATH" > /p\n' },
  { name: 'user-empty-string', dockerfile: 'FROM {{BASE}}\nUSER ""\nRUN id > /id\n' },
  { name: 'workdir-relative-dots', dockerfile: 'FROM {{BASE}}\nWORKDIR a/./b/../c\nRUN pwd > /pwd\n' },
  { name: 'expose-from-env', dockerfile: 'FROM {{BASE}}\nENV P=8080\nEXPOSE $P ${P}/udp\n' },
  // An absolute WORKDIR stays as written in the config and history (`/app/`), a relative one is joined and cleaned.
  { name: 'workdir-as-written', dockerfile: 'FROM {{BASE}}\nWORKDIR /app/\nRUN pwd > /pwd\nENV D=/srv/\nWORKDIR $D\nWORKDIR ${D}sub/\nWORKDIR rel/\nRUN pwd > /pwd2\nWORKDIR //x//y\n' },
  { name: 'workdir-env-in-parent-stage', dockerfile: 'FROM {{BASE}} AS a\nENV W=/work\nWORKDIR $W/\nFROM a\nWORKDIR sub\nRUN pwd > /pwd\n' },
  { name: 'workdir-existing-file-parent', dockerfile: 'FROM {{BASE}}\nRUN mkdir -p /w && chmod 700 /w && chown 7:7 /w\nWORKDIR /w/sub\nWORKDIR /w\nRUN touch here\n' },
];
