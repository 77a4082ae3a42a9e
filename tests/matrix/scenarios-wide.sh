# shellcheck shell=bash
# Scenarios of issue 7 ("truth where users are"), sourced by lib.sh after the base rows.
# Select them all with `run.sh --only @wide,@docker,@ctr`, one lane with `--only @docker`.
# Images (images.sh): deb12nr / deb13nr = `apt-get install --no-install-recommends podman uidmap`
# (bookworm: CNI plugins + iptables, no netavark; trixie: netavark 1.14 + iptables, no nft, no passt,
# no slirp4netns; neither has fuse-overlayfs), deb13bh = deb13nr + buildah.
# Expected outcomes and errors are in README.md ("Rows of issue 7"); the network rules they prove are in
# docs/field-notes.md ("Which network a RUN step gets").

lane podman wide
HOMEPOD=/home/podman
# the six cases of issue 7
scenario deb12nr-rootless-priv-home1777 deb12nr plain "--privileged --user=1000 --env=HOME=$HOMEPOD @emptydir1777=$HOMEPOD" "issue 7 case 1: GitLab recipe 1 (privileged, uid 1000, HOME on a root-owned 1777 emptyDir), podman 4.3 without recommends (no slirp4netns)"
scenario deb13nr-rootless-priv-home1777 deb13nr plain "--privileged --user=1000 --env=HOME=$HOMEPOD @emptydir1777=$HOMEPOD" "issue 7 case 1 on podman 5.4 without recommends (no passt, no slirp4netns)"
scenario deb12nr-root-priv deb12nr plain "--privileged" "issue 7 case 2: rootful podman 4.3 with CNI plugins (what apt picks without recommends), no netavark"
scenario deb13nr-root-priv deb13nr plain "--privileged" "issue 7 case 3: rootful podman 5.4, netavark 1.14 (nftables driver) but no nft binary"
scenario deb13-rootless-priv-container-host-empty deb13 plain "--privileged --user=1000 --env=CONTAINER_HOST=" "issue 7 case 4: rootless recipe, CONTAINER_HOST set to an empty value"
scenario deb13-rootless-priv-graphroot-1m deb13 plain "--privileged --user=1000 --tmpfs=$HOMEPOD/.local/share/containers:rw,size=1m,mode=1777" "issue 7 case 5: rootless recipe, graphroot on a 1 MiB tmpfs (small emptyDir, medium Memory)"
scenario deb13-rootless-priv-customhome deb13 plain "--privileged --user=1000 --env=HOME=/my_custom_dir @emptydir1777=/my_custom_dir" "issue 7 case 6: rootless recipe, pipeline sets HOME=/my_custom_dir (root-owned 1777 emptyDir); second env run must change nothing"
scenario deb13nr-rootless-priv-customhome deb13nr plain "--privileged --user=1000 --env=HOME=/my_custom_dir @emptydir1777=/my_custom_dir" "issue 7 case 6 on the no-recommends image (network.run's netns fix in play)"
scenario deb12-rootless-priv-customhome deb12 plain "--privileged --user=1000 --env=HOME=/my_custom_dir @emptydir1777=/my_custom_dir" "issue 7 case 6 on podman 4.3"
# remote-client switches
scenario deb12-rootless-priv-container-host deb12 plain "--privileged --user=1000 --env=CONTAINER_HOST=unix:///run/podman/podman.sock" "rootless recipe, CONTAINER_HOST pointing at a socket that is not there (podman 4.3)"
scenario deb13-root-fuse-nnp-container-connection deb13 plain "--device=/dev/fuse --security-opt=no-new-privileges --env=CONTAINER_CONNECTION=ci" "GitLab root recipe, CONTAINER_CONNECTION names a connection that is not configured"
# nofile: a RUN that opens 1100 files with the job's soft nofile at 1024 (Docker >= 25, containerd 2)
scenario deb12-rootless-priv-nofile1024 deb12 plain "--privileged --user=1000 @nofile1024 @ctx=nofile" "rootless recipe, soft nofile 1024 (hard as the host allows), podman 4.3, RUN opens 1100 files"
scenario deb13-rootless-priv-nofile1024 deb13 plain "--privileged --user=1000 @nofile1024 @ctx=nofile" "same on podman 5.4"
# configuration files left 0600 by a umask-077 image build
scenario deb13-umask-containers-rootless-priv deb13 umask-containers "--privileged --user=1000" "rootless recipe, /etc/containers/containers.conf mode 0600 (umask 077)"
scenario deb13-umask-storage-rootless-priv deb13 umask-storage "--privileged --user=1000" "rootless recipe, /etc/containers/storage.conf mode 0600"
scenario deb13-umask-registries-rootless-priv deb13 umask-registries "--privileged --user=1000" "rootless recipe, /etc/containers/registries.conf mode 0600"
scenario deb13-umask-policy-rootless-priv deb13 umask-policy "--privileged --user=1000" "rootless recipe, /etc/containers/policy.json mode 0600"
scenario deb12-umask-containers-rootless-priv deb12 umask-containers "--privileged --user=1000" "rootless recipe, containers.conf mode 0600, podman 4.3"
# room for the store and for TMPDIR
scenario deb13-rootless-priv-graphroot-inodes deb13 plain "--privileged --user=1000 @tmpfs64inodes=$HOMEPOD/.local/share/containers" "rootless recipe, graphroot on a tmpfs with room but 64 inodes"
scenario deb12-root-fuse-nnp-graphroot-1m deb12 plain "--device=/dev/fuse --security-opt=no-new-privileges --tmpfs=/var/lib/containers:rw,size=1m" "GitLab root recipe, /var/lib/containers on a 1 MiB tmpfs, podman 4.3"
scenario deb13-rootless-priv-tmpdir-1m deb13 plain "--privileged --user=1000 --env=TMPDIR=/smalltmp --tmpfs=/smalltmp:rw,size=1m,mode=1777" "rootless recipe, TMPDIR on a 1 MiB tmpfs"
scenario deb13-rootless-priv-tmpdir-missing deb13 plain "--privileged --user=1000 --env=TMPDIR=/nonexistent" "rootless recipe, TMPDIR names a directory that does not exist"
scenario deb12-rootless-priv-tmpdir-missing deb12 plain "--privileged --user=1000 --env=TMPDIR=/nonexistent" "same, podman 4.3"
scenario deb13-rootless-priv-tmpdir-unwritable deb13 plain "--privileged --user=1000 --env=TMPDIR=/usr" "rootless recipe, TMPDIR root-owned 0755"
# the environment overriding what would work
scenario deb13nr-rootless-priv-storage-driver-overlay deb13nr plain "--privileged --user=1000 --env=STORAGE_DRIVER=overlay" "rootless recipe on the no-recommends image (no fuse-overlayfs), STORAGE_DRIVER=overlay with the graphroot on the container's overlay"
scenario deb13nr-rootless-priv-storage-opts-fuse deb13nr plain "--privileged --user=1000 --env=STORAGE_OPTS=overlay.mount_program=/usr/bin/fuse-overlayfs" "rootless recipe on the no-recommends image, STORAGE_OPTS names fuse-overlayfs, which is not installed"
scenario deb13-root-fuse-nnp-isolation-oci deb13 plain "--device=/dev/fuse --security-opt=no-new-privileges --env=BUILDAH_ISOLATION=oci" "GitLab root recipe with BUILDAH_ISOLATION=oci in the environment (masked /proc wants chroot)"
# which network a RUN step gets (docs/field-notes.md): rootless helpers one at a time, netavark's driver
scenario deb13-noslirp-rootless-priv deb13 noslirp "--privileged --user=1000" "rootless recipe, podman 5.4 with passt but without slirp4netns"
scenario deb13-nopasta-rootless-priv deb13 nopasta "--privileged --user=1000" "rootless recipe, podman 5.4 with slirp4netns but without passt"
scenario deb13-slirpconf-rootless-priv deb13 slirpconf "--privileged --user=1000" "rootless recipe, podman 5.4 without passt, containers.conf default_rootless_network_cmd=slirp4netns"
scenario deb13nr-fwipt-root-priv deb13nr fwipt "--privileged" "rootful podman 5.4 without nft, containers.conf firewall_driver=iptables (iptables is installed)"
scenario deb12cni-root-fuse-nnp deb12cni plain "--device=/dev/fuse --security-opt=no-new-privileges" "GitLab root recipe, podman 4.3 with containernetworking-plugins named (CNI, no netavark)"
# a prior store as containers/storage reads it (decide/storage.rs): `<driver>-images` names the rootless driver
scenario deb13-priorfifo-rootless-priv deb13 priorfifo "--privileged --user=1000" "rootless recipe, a FIFO called vfs-images in the graphroot (podman 5.4 picks vfs from its name and cannot open it)"
scenario deb12-priorfifo-rootless-priv deb12 priorfifo "--privileged --user=1000" "the same on podman 4.3, which never reads the graphroot for the rootless driver (vfs, builds)"
scenario deb13-priorboth-root-priv deb13 priorboth "--privileged" "root privileged, overlay/ and vfs/ in the graphroot (podman 5.4: several valid graphdrivers)"
scenario deb12-priorboth-root-priv deb12 priorboth "--privileged" "the same on podman 4.3, which leaves vfs out and takes overlay"
scenario deb12-dbvfs-root-priv deb12 dbvfs "--privileged" "root privileged, /var/lib/containers/storage made with vfs: libpod's database overrides podman 4.3's choice"
scenario deb12nr-firstrun-root-priv deb12nr firstrun "--privileged" "root privileged, no fuse-overlayfs, after a first podman command: its overlay attempt left /var/lib/containers/storage/overlay (podman 4.3: prior storage driver overlay failed)"
scenario deb13nr-firstrun-root-priv deb13nr firstrun "--privileged" "the same on podman 5.4"
# buildah beside podman
scenario deb13bh-rootless-priv-home1777 deb13bh plain "--privileged --user=1000 --env=HOME=$HOMEPOD @emptydir1777=$HOMEPOD" "GitLab recipe 1, podman 5.4 + buildah, no recommends"
scenario deb13bh-root-fuse-nnp deb13bh plain "--device=/dev/fuse --security-opt=no-new-privileges" "GitLab root recipe, podman 5.4 + buildah, no recommends"

# Debian's dockerd 20.10 as the outer engine (GitLab's docker executor): Docker's own default seccomp
# profile and capabilities; options as config.toml's privileged, devices, cap_add, security_opt give them.
lane docker docker
scenario docker-deb13-rootless-priv deb13 plain "--privileged --user=1000" "docker executor privileged = true, user 1000 (podman 5.4)"
scenario docker-deb12-rootless-priv deb12 plain "--privileged --user=1000" "docker executor privileged = true, user 1000 (podman 4.3)"
scenario docker-deb13-root-priv deb13 plain "--privileged" "docker executor privileged = true, root"
scenario docker-deb13-root-default deb13 plain "" "docker executor defaults, root: Docker's seccomp and capabilities, masked /proc"
scenario docker-deb13-root-fuse-nnp deb13 plain "--device=/dev/fuse --security-opt=no-new-privileges" "docker executor, devices = [/dev/fuse], security_opt = [no-new-privileges]"
scenario docker-deb12-root-fuse-sysadmin deb12 plain "--device=/dev/fuse --cap-add=SYS_ADMIN" "docker executor, devices = [/dev/fuse], cap_add = [SYS_ADMIN], Docker's seccomp (podman 4.3)"
scenario docker-deb13-rootless-fuse-unconfined deb13 plain "--user=1000 --device=/dev/fuse --device=/dev/net/tun --security-opt=seccomp=unconfined --security-opt=systempaths=unconfined" "docker executor, user 1000, devices fuse+tun, security_opt seccomp:unconfined + systempaths=unconfined"
scenario docker-deb13nr-rootless-priv-home1777 deb13nr plain "--privileged --user=1000 --env=HOME=$HOMEPOD @emptydir1777=$HOMEPOD" "issue 7 case 1 under the docker executor (podman 5.4, no recommends)"

# containerd 1.6 driven with ctr (a Kubernetes node's runtime): ctr's spec is containerd's default one
# (default capabilities, no-new-privileges, masked /proc); --seccomp is RuntimeDefault.  ctr run has no
# --user: the u1000 image variant says USER 1000.
lane ctr ctr
scenario ctr-deb13-root-priv deb13 plain "--privileged" "containerd, privileged pod, root (podman 5.4)"
scenario ctr-deb13-rootless-priv deb13 u1000 "--privileged" "containerd, privileged pod, uid 1000 (GitLab recipe 1)"
scenario ctr-deb12-rootless-priv deb12 u1000 "--privileged" "containerd, privileged pod, uid 1000 (podman 4.3)"
scenario ctr-deb13-root-default deb13 plain "" "containerd default spec, root: default caps, no-new-privileges, masked /proc, no seccomp"
scenario ctr-deb13-root-fuse-seccomp deb13 plain "--device=/dev/fuse --seccomp" "containerd, root, /dev/fuse, seccomp RuntimeDefault (GitLab root recipe on a node)"
scenario ctr-deb13-rootless-fuse deb13 u1000 "--device=/dev/fuse" "containerd, uid 1000, /dev/fuse, default caps and no-new-privileges"
unset HOMEPOD
