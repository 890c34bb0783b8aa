package secret

// Credential is what a sink delivers: a token and, for the credentials that
// have one (a deploy token is a username plus a token), the username that
// goes with it. The username is not secret — GitLab lists it, and the
// journal keeps it in plain — but only Token is revealed: a Credential
// prints as its username and [REDACTED] with every fmt verb, in slog and in
// JSON, so printing one never shows the token.
type Credential struct {
	Username string // "" when the token has none
	Token    Secret
}

// TokenOnly is the credential of a token that has no username.
func TokenOnly(s Secret) Credential { return Credential{Token: s} }

// IsZero reports whether the credential has no token.
func (c Credential) IsZero() bool { return c.Token.IsZero() }

// Equal compares both fields.
func (c Credential) Equal(o Credential) bool {
	return c.Username == o.Username && c.Token.Equal(o.Token)
}
