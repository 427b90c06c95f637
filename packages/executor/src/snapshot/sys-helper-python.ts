/**
 * The sys helper as a python3 script, for where tbuild-sys (native/sys.c) was not built: it
 * speaks the same protocol (sys-helper-wire.ts). python3 is already a dependency (the cache's
 * extractor creates device nodes with it), but starts in ~60-150 ms here, against ~1 ms.
 */
export const PYTHON_SYS_HELPER = String.raw`
import ctypes, errno, fcntl, os, select, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
# ^C reaches the whole process group: tbuild cleans up through this helper, so it stays; it
# exits when tbuild closes its stdin. Spawned programs get every signal's default back.
signal.signal(signal.SIGINT, signal.SIG_IGN)
SIGDEF = [s for s in signal.valid_signals() if s not in (signal.SIGKILL, signal.SIGSTOP)]
wake_r, wake_w = os.pipe()
os.set_blocking(wake_r, False)
os.set_blocking(wake_w, False)
signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
signal.signal(signal.SIGCHLD, lambda *a: None)
held = {}
def send(line):
    data = (line + '\n').encode()
    while data:
        data = data[os.write(1, data):]
def fail(id, e, message=None):
    send('%s err %s %s' % (id, errno.errorcode.get(e, str(e)), message or os.strerror(e)))
def reap():
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if os.WIFSIGNALED(status):
            send('exit %d signal %d' % (pid, os.WTERMSIG(status)))
        else:
            send('exit %d code %d' % (pid, os.WEXITSTATUS(status)))
def handle(f):
    id, op, a = f[0].decode(), f[1].decode(), f[2:]
    try:
        r = 0
        if op == 'mount':
            os.chdir(a[4] or b'/')
            try:
                r = libc.mount(a[0], a[1], a[2], 0, a[3])
                e = ctypes.get_errno()
            finally:
                os.chdir('/')
            if r != 0:
                return fail(id, e)
        elif op == 'umount':
            r = libc.umount2(a[0], 2 if a[1] == b'1' else 0)
        elif op == 'utimens':
            os.utime(a[0], ns=(int(a[1]), int(a[2])), follow_symlinks=False)
        elif op == 'mtimes':
            for p, m in zip(a[0::2], a[1::2]):
                os.utime(p, ns=(os.lstat(p).st_atime_ns, int(m)), follow_symlinks=False)
        elif op == 'spawn':
            # stdout and stderr are pipes whose read ends tbuild opens through /proc, then releases.
            ro, wo = os.pipe()
            re, we = os.pipe()
            try:
                n = int(a[0])
                env = dict(os.environb)
                env.update(e.split(b'=', 1) for e in a[1:1 + n])
                actions = [(os.POSIX_SPAWN_OPEN, 0, '/dev/null', os.O_RDONLY, 0), (os.POSIX_SPAWN_DUP2, wo, 1), (os.POSIX_SPAWN_DUP2, we, 2)]
                pid = os.posix_spawnp(a[1 + n], list(a[1 + n:]), env, file_actions=actions, setsigdef=SIGDEF)
            except BaseException:
                os.close(ro)
                os.close(re)
                raise
            finally:
                os.close(wo)
                os.close(we)
            held[pid] = (ro, re)
            return send('%s ok %d %d %d' % (id, pid, ro, re))
        elif op == 'release':
            for fd in held.pop(int(a[0]), ()):
                os.close(fd)
        elif op == 'flock':
            # As tbuild-sys: flock on tbuild's own open file, through pidfd_getfd (438), never waiting.
            pidfd = os.pidfd_open(int(a[0]))
            try:
                fd = libc.syscall(438, pidfd, int(a[1]), 0)
                if fd < 0:
                    return fail(id, ctypes.get_errno())
            finally:
                os.close(pidfd)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            finally:
                os.close(fd)
        else:
            return fail(id, errno.EINVAL)
        if r != 0:
            return fail(id, ctypes.get_errno())
        send('%s ok' % id)
    except OSError as e:
        fail(id, e.errno or errno.EIO, e.strerror)
    except Exception as e:
        fail(id, errno.EINVAL, str(e).replace('\n', ' '))
send('ready %d' % wake_r)
buf = b''
while True:
    ready = select.select([0, wake_r], [], [])[0]
    if wake_r in ready:
        try:
            os.read(wake_r, 512)
        except BlockingIOError:
            pass
        reap()
    if 0 in ready:
        chunk = os.read(0, 1 << 16)
        if not chunk:
            break
        buf += chunk
        while len(buf) >= 4:
            n = int.from_bytes(buf[:4], 'little')
            if len(buf) < 4 + n:
                break
            frame, buf = buf[4:4 + n], buf[4 + n:]
            handle(frame.split(b'\0')[:-1])
`;
