# shellcheck shell=bash
# Rows only the VM lane runs (it appends `. scenarios-vm.sh` to its copy of scenarios-wide.sh; the host
# matrix never sees them).  The GitLab root recipe and the docker executor's defaults with the outer
# container AppArmor-unconfined: they prove that the `flags: 0x1000: permission denied` of the confined
# rows is AppArmor's (here podman gets past storage and the rows behave as on the host, K3 and fuse).
lane podman vm
scenario deb12-root-fuse-nnp-aaunconf deb12 plain "--device=/dev/fuse --security-opt=no-new-privileges --security-opt=apparmor=unconfined" "GitLab root recipe, AppArmor unconfined (docker executor security_opt = [\"apparmor=unconfined\"])"
scenario deb13-root-default-aaunconf  deb13 plain "--security-opt=apparmor=unconfined" "docker executor defaults, root, AppArmor unconfined"
