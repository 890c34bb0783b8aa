package file

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"

	"gitlab.com/tokenwarden/tokenwarden/internal/problem"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// FormatDockerConfig is a Docker client config.json: the credential goes in
// one registry's auths entry, as Docker writes it — "auth" is
// base64(username:token) — and every other registry's entry and every other
// top-level key (credsStore, credHelpers, proxies, …) is kept.
const FormatDockerConfig = "docker_config"

// registryRE is a registry host with an optional port, as Docker keys auths
// after `docker login registry.example.com:5050`.
var registryRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$`)

// validateDockerConfig checks the settings of format docker_config, and
// adds each problem to ps.
func (c *Config) validateDockerConfig(ps *problem.List) {
	switch {
	case c.Registry == "":
		ps.Add("", "add registry: the registry host the auths entry is for, e.g. registry.gitlab.example.com", "registry is required for format docker_config")
	case !registryRE.MatchString(c.Registry):
		ps.Add("registry", "write the registry's host (and port) as `docker login` takes it, e.g. registry.gitlab.example.com:5050, without https:// or a path", "invalid registry %q", c.Registry)
	}
	if c.Key != "" {
		ps.Add("key", "remove key: the credential goes in auths.<registry>.auth", "key is not used with format docker_config")
	}
	if c.UsernameKey != "" {
		ps.Add("username_key", "remove username_key: the username goes in auths.<registry>.auth with the token", "username_key is not used with format docker_config")
	}
}

// dockerConfig edits auths[registry] of a Docker config.json through the
// order-keeping JSON tree of format json (other members keep their values
// and order; the file is re-indented with two spaces, as Docker writes it).
type dockerConfig struct{ registry string }

func (dockerConfig) usesUsername() bool { return true }

// dockerHost is Docker's ConvertToHostname: the auths key without scheme
// and path, which is how Docker matches an entry to a registry.
func dockerHost(key string) string {
	h := strings.TrimPrefix(strings.TrimPrefix(key, "http://"), "https://")
	h, _, _ = strings.Cut(h, "/")
	return h
}

// check refuses a config in which Docker would not use the registry's auths
// entry: a credential helper for the registry or a credentials store
// shadows it, and a second auths key for the same host makes it ambiguous.
func (d dockerConfig) check(root jsonObject) error {
	if i := root.index("credHelpers"); i >= 0 {
		if helpers, ok := root[i].val.(jsonObject); ok {
			for _, m := range helpers {
				if dockerHost(m.key) == d.registry {
					return &shadowError{fmt.Sprintf("credHelpers sends %s to a credential helper, so Docker ignores its auths entry", m.key),
						"remove " + m.key + " from credHelpers, or deliver to a config.json of the consumer's own (DOCKER_CONFIG=<dir>)"}
				}
			}
		}
	}
	if i := root.index("credsStore"); i >= 0 {
		if store, ok := root[i].val.(string); ok && store != "" {
			return &shadowError{fmt.Sprintf("credsStore %q keeps every registry's credentials in a store, so Docker ignores the auths entries", store),
				`remove credsStore, or deliver to a config.json of the consumer's own (DOCKER_CONFIG=<dir>)`}
		}
	}
	if auths, ok := dockerAuths(root); ok {
		for _, m := range auths {
			if m.key != d.registry && dockerHost(m.key) == d.registry {
				return &shadowError{fmt.Sprintf("auths has %q for the same registry as %q; Docker would use either", m.key, d.registry),
					"remove the " + m.key + " entry, or set registry: to match it"}
			}
		}
	}
	return nil
}

// shadowError: the file's auths entry would not be the credential Docker uses.
type shadowError struct{ msg, fix string }

func (e *shadowError) Error() string { return e.msg }

func (e *shadowError) hint() string { return e.fix }

// dockerAuths is root's auths object, if it has one.
func dockerAuths(root jsonObject) (jsonObject, bool) {
	i := root.index("auths")
	if i < 0 {
		return nil, false
	}
	a, ok := root[i].val.(jsonObject)
	return a, ok
}

func (d dockerConfig) get(content []byte) (secret.Credential, bool, error) {
	root, err := parseJSON(content)
	if err != nil {
		return secret.Credential{}, false, err
	}
	if err := d.check(root); err != nil {
		return secret.Credential{}, false, err
	}
	if i := root.index("auths"); i >= 0 {
		if _, ok := root[i].val.(jsonObject); !ok {
			return secret.Credential{}, false, fmt.Errorf("auths holds a %s, not an object", jsonKind(root[i].val))
		}
	}
	auths, _ := dockerAuths(root)
	i := auths.index(d.registry)
	if i < 0 {
		return secret.Credential{}, false, nil
	}
	entry, ok := auths[i].val.(jsonObject)
	if !ok {
		return secret.Credential{}, false, fmt.Errorf("auths entry %s holds a %s, not an object", d.registry, jsonKind(auths[i].val))
	}
	str := func(key string) string {
		if j := entry.index(key); j >= 0 {
			s, _ := entry[j].val.(string)
			return s
		}
		return ""
	}
	// Docker decodes auth when it is set, else uses username and password.
	user, tok := str("username"), str("password")
	if auth := str("auth"); auth != "" {
		raw, err := base64.StdEncoding.DecodeString(auth)
		if err != nil {
			return secret.Credential{}, false, fmt.Errorf("auths entry %s: auth is not base64", d.registry)
		}
		var found bool
		if user, tok, found = strings.Cut(string(raw), ":"); !found {
			return secret.Credential{}, false, fmt.Errorf("auths entry %s: auth is not username:password", d.registry)
		}
	}
	if user == "" || tok == "" {
		return secret.Credential{}, false, nil
	}
	return secret.Credential{Username: user, Token: secret.New(tok)}, true, nil
}

// set writes auth and drops what would take its place: username and
// password (Docker itself keeps only auth) and identitytoken/registrytoken,
// which Docker sends instead of the password. Other fields of the entry
// (email, …) are kept.
func (d dockerConfig) set(content []byte, c secret.Credential) ([]byte, error) {
	if strings.Contains(c.Username, ":") {
		return nil, fmt.Errorf("username %q contains ':', which auth cannot carry", c.Username)
	}
	root, err := parseJSON(content)
	if err != nil {
		return nil, err
	}
	if err := d.check(root); err != nil {
		return nil, err
	}
	auth := base64.StdEncoding.EncodeToString([]byte(c.Username + ":" + c.Token.Reveal()))
	var entry jsonObject
	if auths, ok := dockerAuths(root); ok {
		if i := auths.index(d.registry); i >= 0 {
			if e, ok := auths[i].val.(jsonObject); ok {
				for _, m := range e {
					switch m.key {
					case "auth", "username", "password", "identitytoken", "registrytoken":
					default:
						entry = append(entry, m)
					}
				}
			}
		}
	}
	entry = append(jsonObject{{key: "auth", val: auth}}, entry...)
	root, err = jsonPut(root, []string{"auths", d.registry}, entry)
	if err != nil {
		return nil, err
	}
	return marshalJSON(root), nil
}
