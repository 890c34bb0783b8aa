//go:build unix

package exec

import (
	osexec "os/exec"
	"syscall"
)

// setProcessGroup starts the command in its own process group and makes a
// cancel (timeout) kill the whole group, so a shell script's children die
// with it.
func setProcessGroup(cmd *osexec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
