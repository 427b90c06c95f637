#!/bin/sh
# Makes this example's base filesystem from Debian's busybox-static, so the example builds
# without any registry: the Dockerfile's first stage is `FROM scratch` + `COPY base-rootfs/ /`.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root="$here/base-rootfs"
rm -rf "$root"
mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/root"
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
chmod 1777 "$root/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\napp:x:1000:\n' > "$root/etc/group"
echo "base filesystem ready in $root"
