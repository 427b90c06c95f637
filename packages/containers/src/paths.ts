import path from 'node:path';

/** Where one container keeps everything, under `<store>/containers/<id>/`. */
export interface ContainerPaths {
  dir: string;
  record: string;
  state: string;
  /** Mount points the runtime needs that the image lacks (docker's init layer); the top-most lower, never committed. */
  init: string;
  upper: string;
  work: string;
  /** The merged overlay mount: the container's root filesystem while it runs. */
  rootfs: string;
  /** Short symlinks to the lowers, so the overlay option string stays small. */
  links: string;
  /** The runc state dir handed to the executor's RuncRuntime (`runc/`, `bundles/`). */
  runtime: string;
  log: string;
  /** Marker files of attached clients (`tbuild run` without -d), so `--rm` waits for them. */
  attach: string;
}

export function containerPaths(containersDir: string, id: string): ContainerPaths {
  const dir = path.join(containersDir, id);
  return {
    dir,
    record: path.join(dir, 'container.json'),
    state: path.join(dir, 'state.json'),
    init: path.join(dir, 'init'),
    upper: path.join(dir, 'u'),
    work: path.join(dir, 'w'),
    rootfs: path.join(dir, 'm'),
    links: path.join(dir, 'l'),
    runtime: path.join(dir, 'rt'),
    log: path.join(dir, 'logs', 'container.log'),
    attach: path.join(dir, 'attach'),
  };
}
