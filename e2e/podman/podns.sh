#!/usr/bin/env bash
# podns.sh: a user namespace shaped like a workspace pod with hostUsers: false,
# built on this machine for the nested podman e2e (see DESIGN.md, "Nested
# podman on this kind of machine"). Run as root. Nothing on the host changes:
# every mount happens in private mount namespaces that die with the holder.
#
#   podns.sh up DIR
#       Build the pod and hold it open until its standard input closes (the
#       test keeps the other end of a pipe). Everything in the pod lives in
#       its own PID namespace, so when the holder goes, the kernel ends the
#       rest: podman's pause process, conmon, containers. DIR/ready appears
#       once the pod is ready. DIR was prepared by the test:
#       etc/{passwd,subuid,subgid}, home/, run/. If DIR/mask-proc exists,
#       /proc is masked the way a runtime's default procMount does; the
#       files listed in DIR/hide are covered, as if the image lacked them.
#   podns.sh exec DIR HOLDER UID GID CAPS PATH_PREFIX -- COMMAND...
#       Run COMMAND in the pod (HOLDER is the host PID of its init) as
#       UID:GID with exactly CAPS (e.g. "+setuid,+setgid", or "" for none)
#       in the bounding set, as a pod's container runs, with PATH_PREFIX
#       (may be empty) ahead of PATH.
#   podns.sh stop-pause DIR HOLDER
#       Stop podman's pause process, as root of the pod.
set -euo pipefail

# The pod's user namespace: 65536 IDs from host 200000, as the kubelet
# allocates them.
readonly HOST_BASE=200000 SIZE=65536

cmd=${1:?usage: podns.sh up|exec DIR ...}
dir=${2:?DIR}
shift 2
self=$(readlink -f "$0")

case "$cmd" in
up)
	# Host side, in a private mount namespace.
	exec unshare --mount --propagation private bash "$self" _host "$dir"
	;;

_host)
	# crun refuses this machine's hybrid cgroups; a pod on OpenShift sees
	# cgroup v2 at /sys/fs/cgroup, so give the pod that.
	mount -t cgroup2 none /sys/fs/cgroup
	# unshare --map-users asks newuidmap, which wants root's ranges.
	printf 'root:%d:%d\n' "$HOST_BASE" "$SIZE" >"$dir/root.subid"
	mount --bind "$dir/root.subid" /etc/subuid
	mount --bind "$dir/root.subid" /etc/subgid
	# Device nodes as CRI-O creates them for io.kubernetes.cri-o.Devices:
	# owned by the pod's root, usable by everyone.
	mkdir -p "$dir/dev"
	mknod -m 0666 "$dir/dev/fuse" c 10 229
	mknod -m 0666 "$dir/dev/tun" c 10 200
	chown "$HOST_BASE:$HOST_BASE" "$dir/dev/fuse" "$dir/dev/tun"
	mount --bind "$dir/dev/fuse" /dev/fuse
	mount --bind "$dir/dev/tun" /dev/net/tun
	# newuidmap/newgidmap as the image ships them: with file capabilities
	# (what udi/Containerfile does), and setuid-root (what a stock image
	# does) for the negative case. chown clears both, so it comes first.
	mkdir -p "$dir/bin/filecaps" "$dir/bin/setuid"
	for t in newuidmap newgidmap; do
		cp /usr/bin/$t "$dir/bin/filecaps/$t"
		cp /usr/bin/$t "$dir/bin/setuid/$t"
	done
	chown -R "$HOST_BASE:$HOST_BASE" "$dir/bin"
	chmod 0755 "$dir/bin/filecaps/"*
	chmod 4755 "$dir/bin/setuid/"*
	setcap cap_setuid+ep "$dir/bin/filecaps/newuidmap"
	setcap cap_setgid+ep "$dir/bin/filecaps/newgidmap"
	exec unshare --user --map-users="$HOST_BASE,0,$SIZE" --map-groups="$HOST_BASE,0,$SIZE" \
		--setuid 0 --setgid 0 --mount --propagation private --pid --fork --mount-proc --kill-child \
		bash "$self" _pod "$dir"
	;;

_pod)
	# Init of the pod's PID namespace, root of its user namespace, in its
	# mount namespace, with its own /proc as a pod has.
	if [[ -e "$dir/mask-proc" ]]; then
		# What runc and CRI-O do without procMount: Unmasked (their default
		# masked and read-only paths, those this kernel has).
		for p in /proc/kcore /proc/keys /proc/latency_stats /proc/timer_list /proc/sched_debug; do
			if [[ -f "$p" ]]; then mount --bind /dev/null "$p"; fi
		done
		for p in /proc/acpi /proc/scsi; do
			if [[ -d "$p" ]]; then mount -t tmpfs -o ro tmpfs "$p"; fi
		done
		for p in /proc/bus /proc/fs /proc/irq /proc/sys /proc/sysrq-trigger; do
			if [[ -e "$p" ]]; then mount --bind "$p" "$p" && mount -o remount,bind,ro "$p"; fi
		done
	fi
	# A fresh /dev/shm: podman's lock file must not collide with another
	# user's from an earlier run.
	mount -t tmpfs -o mode=1777 tmpfs /dev/shm
	# The container's own temporary directory, TMPDIR (/tmp holds DIR, so
	# /var/tmp stands in): podman keeps the runtime directory of a user
	# without XDG_RUNTIME_DIR there, and refuses a runroot path longer than
	# 50 characters.
	mount -t tmpfs -o mode=1777 tmpfs /var/tmp
	for f in passwd subuid subgid; do
		mount --bind "$dir/etc/$f" "/etc/$f"
	done
	# Files the image lacks: /dev/null over them is neither a regular file
	# nor executable, so lookups skip them.
	if [[ -f "$dir/hide" ]]; then
		while read -r p; do
			if [[ -n "$p" ]]; then mount --bind /dev/null "$p"; fi
		done <"$dir/hide"
	fi
	mount --bind "$dir/bin/filecaps/newuidmap" /usr/bin/newuidmap
	mount --bind "$dir/bin/filecaps/newgidmap" /usr/bin/newgidmap
	: >"$dir/ready"
	# Hold the pod until the test closes our standard input (or dies).
	while read -r _; do :; done
	;;

exec)
	holder=${1:?HOLDER} uid=${2:?UID} gid=${3:?GID} caps=${4?CAPS} prefix=${5?PATH_PREFIX}
	shift 5
	[[ "${1:-}" == "--" ]] && shift
	bounding="-all" inheritable="-all"
	if [[ -n "$caps" ]]; then
		bounding="-all,$caps" inheritable="-all,$caps"
	fi
	path=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin
	[[ -n "$prefix" ]] && path="$prefix:$path"
	exec nsenter --target "$holder" --user --mount --pid -- \
		setpriv --reuid "$uid" --regid "$gid" --clear-groups \
		--inh-caps="$inheritable" --bounding-set="$bounding" \
		env -i -C "$dir/home" PATH="$path" HOME="$dir/home" USER=user LOGNAME=user \
		XDG_RUNTIME_DIR="$dir/run" TMPDIR=/var/tmp LANG=C.UTF-8 "$@"
	;;

stop-pause)
	holder=${1:?HOLDER}
	# pause.pid holds a PID of the pod's namespace: kill it from inside.
	exec nsenter --target "$holder" --user --mount --pid -- sh -c '
		pid=$(cat "$1/run/libpod/tmp/pause.pid" 2>/dev/null) || exit 0
		kill -KILL "$pid" 2>/dev/null || true' sh "$dir"
	;;

*)
	echo "podns.sh: unknown command $cmd" >&2
	exit 2
	;;
esac
