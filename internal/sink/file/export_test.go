package file

// FailBeforeRename makes every Put of s fail after its temp file is written
// and before the rename — the worst moment — until the returned func is called.
func FailBeforeRename(s *Sink, err error) (restore func()) {
	s.mu.Lock()
	s.beforeRename = func() error { return err }
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		s.beforeRename = nil
		s.mu.Unlock()
	}
}
