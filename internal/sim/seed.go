package sim

func (s *Server) generate(groups, projectsPerGroup, tokensPerProject int) error { return nil }
