import type { DiffCase } from '../support/case.ts';

/** Dockerfiles both builders must reject; tbuild must say why with a TB_ code, not a stack. */
export const ERROR_CASES: DiffCase[] = [
  { name: 'err-copy-missing-source', dockerfile: 'FROM {{BASE}}\nCOPY missing.txt /x\n', expectError: /TB_\w+.*missing\.txt|missing\.txt[\s\S]*TB_\w+/ },
  { name: 'err-run-exit-code', dockerfile: 'FROM {{BASE}}\nRUN exit 3\n', expectError: /TB_EXEC_\w+[\s\S]*3|exit code 3/ },
  { name: 'err-env-without-value', dockerfile: 'FROM {{BASE}}\nENV ONLYKEY\n', expectError: /TB_PARSE_\w+/ },
  { name: 'err-unknown-instruction', dockerfile: 'FROM {{BASE}}\nRUNN echo\n', expectError: /TB_PARSE_\w+[\s\S]*RUNN/i },
  { name: 'err-healthcheck-bad-duration', dockerfile: 'FROM {{BASE}}\nHEALTHCHECK --interval=5 CMD true\n', expectError: /TB_\w+[\s\S]*interval|TB_\w+[\s\S]*duration/i },
  { name: 'err-from-empty-expansion', dockerfile: 'ARG NOPE\nFROM $NOPE\nRUN true\n', expectError: /TB_\w+/ },
  { name: 'err-copy-from-variable', dockerfile: 'FROM {{BASE}} AS s\nFROM {{BASE}}\nARG S=s\nCOPY --from=$S /etc/passwd /p\n', expectError: /TB_PLAN_FROM_VARIABLE/ },
  { name: 'err-shell-not-json', dockerfile: 'FROM {{BASE}}\nSHELL /bin/sh -c\n', expectError: /TB_PARSE_\w+|TB_PLAN_\w+/ },
  { name: 'err-copy-file-over-dir', dockerfile: 'FROM {{BASE}}\nRUN mkdir -p /opt/x/inner\nCOPY d /opt/\n', files: { 'd/x': 'file-now' }, expectError: /TB_EXEC_COPY_DEST[\s\S]*\/opt\/x/ },
  { name: 'err-copy-dir-over-file', dockerfile: 'FROM {{BASE}}\nRUN mkdir -p /opt && echo f > /opt/x\nCOPY d /opt/\n', files: { 'd/x/y': 'y' }, expectError: /TB_EXEC_NOT_A_DIRECTORY[\s\S]*\/opt\/x/ },
  { name: 'err-copy-from-symlink-loop', dockerfile: 'FROM {{BASE}} AS s\nRUN ln -s /a /b && ln -s /b /a\nFROM {{BASE}}\nCOPY --from=s /a /x\n', expectError: /Dockerfile:4:1: error TB_CONTEXT_TOO_MANY_SYMLINKS/ },
  { name: 'err-copy-outside-context', dockerfile: 'FROM {{BASE}}\nCOPY ../x /x\n', expectError: /TB_\w+/ },
  { name: 'err-stage-cycle', dockerfile: 'FROM b AS a\nRUN true\nFROM a AS b\nRUN true\n', expectError: /TB_\w+/ },
  { name: 'err-unknown-target', dockerfile: 'FROM {{BASE}} AS one\nRUN true\n', target: 'nope', expectError: /TB_\w+[\s\S]*nope/ },
  { name: 'err-workdir-empty', dockerfile: 'FROM {{BASE}}\nWORKDIR\n', expectError: /TB_PARSE_\w+/ },
  { name: 'err-user-unknown-run', dockerfile: 'FROM {{BASE}}\nUSER nosuchuser\nRUN true\n', expectError: /TB_EXEC_USER_UNKNOWN/ },
  { name: 'err-shell-empty', dockerfile: 'FROM {{BASE}}\nSHELL []\nRUN true\n', expectError: /Dockerfile:2:1: error TB_PARSE_ARGUMENT_COUNT: SHELL requires at least one argument/ },
  { name: 'err-onbuild-from', dockerfile: 'FROM {{BASE}}\nONBUILD FROM x\n', expectError: /TB_PARSE_INVALID_TRIGGER: FROM isn't allowed as an ONBUILD trigger/ },
  { name: 'err-onbuild-onbuild', dockerfile: 'FROM {{BASE}}\nONBUILD ONBUILD RUN true\n', expectError: /TB_PARSE_INVALID_TRIGGER: Chaining ONBUILD/ },
  { name: 'err-label-empty-key', dockerfile: 'FROM {{BASE}}\nLABEL =x\n', expectError: /TB_PARSE_BLANK_NAME/ },
  { name: 'err-expose-bad-port', dockerfile: 'FROM {{BASE}}\nEXPOSE abc\n', expectError: /TB_PLAN_INVALID_PORT: invalid port "abc"/ },
  { name: 'err-copy-no-dest', dockerfile: 'FROM {{BASE}}\nCOPY a\n', files: { a: 'a' }, expectError: /TB_PARSE_ARGUMENT_COUNT: COPY requires at least two arguments/ },
  { name: 'err-stopsignal-bad', dockerfile: 'FROM {{BASE}}\nSTOPSIGNAL SIGNOPE\n', expectError: /TB_PLAN_INVALID_SIGNAL/ },
  { name: 'err-healthcheck-no-cmd', dockerfile: 'FROM {{BASE}}\nHEALTHCHECK --interval=5s\n', expectError: /TB_PARSE_ARGUMENT_COUNT: HEALTHCHECK requires/ },
  { name: 'err-volume-empty-json', dockerfile: 'FROM {{BASE}}\nVOLUME []\n', expectError: /TB_PARSE_ARGUMENT_COUNT: VOLUME requires/ },
  { name: 'err-run-in-scratch', dockerfile: 'FROM scratch\nRUN true\n', expectError: /TB_EXEC_\w+/ },
  { name: 'err-add-from', dockerfile: 'FROM {{BASE}} AS s\nRUN true\nFROM {{BASE}}\nADD --from=s /etc/passwd /p\n', expectError: /TB_PARSE_UNKNOWN_FLAG: unknown flag: --from/ },
  { name: 'err-mount-bind-missing-source', dockerfile: 'FROM {{BASE}}\nRUN --mount=type=bind,source=nope,target=/n true\n', expectError: /Dockerfile:2:1: error TB_CONTEXT_SOURCE_NOT_FOUND: failed to compute cache key: "\/nope": not found/ },
  { name: 'err-mount-bind-readonly-write', dockerfile: 'FROM {{BASE}}\nRUN --mount=type=bind,target=/c touch /c/new\n', files: { f: 'f' }, expectError: /TB_EXEC_NONZERO_EXIT/ },
  { name: 'err-mount-without-target', dockerfile: 'FROM {{BASE}}\nRUN --mount=type=bind,source=f cat f\n', files: { f: 'f' }, expectError: /TB_PLAN_MOUNT_TARGET: bind mount needs a target/ },
  { name: 'err-unknown-flag', dockerfile: 'FROM {{BASE}}\nCOPY --bogus a /a\n', files: { a: 'a' }, expectError: /TB_PARSE_UNKNOWN_FLAG/ },
];

/** Several sources and a destination without a slash, where tbuild and BuildKit agree. */
export const MULTI_SOURCE_CASES: DiffCase[] = [
  {
    name: 'wildcard-one-match-or-dirs-without-slash',
    dockerfile: 'FROM {{BASE}}\nCOPY on* /single\nCOPY d* /merged\nCOPY d1 d2 /tmp/\n',
    files: { only: 'o', 'd1/x': 'x', 'd2/y': 'y' },
  },
];
