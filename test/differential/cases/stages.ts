import type { DiffCase } from '../support/case.ts';

/** Multi-stage builds: stage references, --target, FROM expansion, inheritance, ONBUILD. */
export const STAGE_CASES: DiffCase[] = [
  {
    name: 'copy-from-stage-name-and-index',
    dockerfile: [
      'FROM {{BASE}} AS Builder',
      'RUN mkdir -p /out/sub && echo built > /out/sub/artifact && ln -s artifact /out/sub/link && chmod 751 /out/sub && chmod 700 /out && chown -R 3:4 /out && chown -h 5:6 /out/sub/link',
      'FROM {{BASE}}',
      'COPY --from=builder /out /from-name',
      'COPY --from=0 /out/sub/artifact /from-index',
      'COPY --from=builder --chown=9:9 /out/sub/ /chowned/',
    ].join('\n'),
  },
  {
    name: 'copy-from-image',
    dockerfile: 'FROM {{BASE}}\nCOPY --from={{BASE}} /etc/passwd /passwd-from-image\nCOPY --from={{BASE}} /bin/sh /bin/ls /two/\n',
  },
  {
    name: 'target-stage',
    dockerfile: 'FROM {{BASE}} AS first\nRUN echo first > /first\nENV STAGE=first\nFROM first AS second\nRUN echo second > /second\nFROM {{BASE}} AS third\nRUN echo third > /third\n',
    target: 'second',
  },
  {
    name: 'stage-inherits-config',
    dockerfile: 'FROM {{BASE}} AS base\nENV A=1\nWORKDIR /w\nUSER app\nCMD ["base"]\nFROM base\nENV B=2\nRUN pwd > /tmp/where\n',
  },
  {
    name: 'from-with-args',
    dockerfile: 'ARG IMAGE={{BASE}}\nARG STAGE=named\nFROM $IMAGE AS named\nRUN echo named > /n\nFROM ${STAGE}\nARG IMAGE\nRUN echo "image=$IMAGE" > /img\n',
  },
  {
    name: 'from-platform-args',
    // A child stage inherits its base stage's ARGs; current BuildKit lists them in the child's
    // RUN history, 20.10 does not (docs/differences.md, "history text"). Files still agree.
    history: false,
    dockerfile: 'FROM --platform=$BUILDPLATFORM {{BASE}} AS b\nARG TARGETPLATFORM\nARG TARGETOS TARGETARCH BUILDPLATFORM BUILDOS\nRUN echo "$TARGETPLATFORM $TARGETOS $TARGETARCH $BUILDPLATFORM $BUILDOS" > /platform\nFROM b\nRUN echo "[$TARGETARCH]" > /unset-in-child\n',
  },
  {
    name: 'unused-stage-skipped',
    dockerfile: 'FROM {{BASE}} AS broken\nRUN exit 1\nFROM {{BASE}}\nRUN echo ok > /ok\n',
  },
  {
    name: 'onbuild-triggers-from-stage',
    dockerfile: 'FROM {{BASE}} AS parent\nONBUILD RUN echo fired > /fired\nONBUILD ENV TRIGGERED=1\nFROM parent\nRUN ls / > /listing\n',
  },
  {
    name: 'scratch-stage',
    dockerfile: 'FROM {{BASE}} AS b\nRUN mkdir /bundle && echo s > /bundle/s\nFROM scratch\nCOPY --from=b /bundle /\nCOPY --from=b /bin/busybox /bin/\nENV X=1\nCMD ["/bin/busybox"]\n',
  },
  {
    name: 'parallel-stages-merge',
    dockerfile: [
      'FROM {{BASE}} AS a',
      'RUN echo a > /a',
      'FROM {{BASE}} AS b',
      'RUN echo b > /b',
      'FROM {{BASE}}',
      'COPY --from=a /a /merged/',
      'COPY --from=b /b /merged/',
      'RUN cat /merged/a /merged/b > /merged/ab',
    ].join('\n'),
  },
  { name: 'stage-name-case', dockerfile: 'FROM {{BASE}} AS Builder\nRUN echo b > /b\nFROM {{BASE}}\nCOPY --from=builder /b /b1\nCOPY --from=BUILDER /b /b2\nCOPY --from=0 /b /b3\n' },
  { name: 'global-arg-scope', dockerfile: 'ARG G=global\nFROM {{BASE}}\nRUN echo "[$G]" > /no\nARG G\nRUN echo "[$G]" > /yes\n' },
  { name: 'cmd-entrypoint-empty', dockerfile: 'FROM {{BASE}} AS a\nCMD ["x"]\nENTRYPOINT ["y"]\nFROM a\nCMD []\nENTRYPOINT []\n' },
  { name: 'healthcheck-none-inherited', dockerfile: 'FROM {{BASE}} AS a\nHEALTHCHECK --interval=30s CMD true\nFROM a\nHEALTHCHECK NONE\n' },
  { name: 'shell-inherited-by-child-stage', dockerfile: 'FROM {{BASE}} AS a\nSHELL ["/bin/sh", "-xc"]\nFROM a\nRUN echo inherited > /o\n' },
  { name: 'target-middle-stage', dockerfile: 'FROM {{BASE}} AS one\nRUN echo 1 > /1\nFROM one AS two\nRUN echo 2 > /2\nFROM two AS three\nRUN echo 3 > /3\n', target: 'two' },
];
