package kubetest

import (
	"os/exec"
	"syscall"
)

// dieWithParent kills the server when the test binary dies without Stop.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
