package config_test

// The sink kinds register themselves with config from internal/sink/all,
// which imports config: only an external test package can import it. Being
// in this package's test binary, it registers them for the internal tests
// too, so that they read deliver: entries as tokenwarden does.
import _ "gitlab.com/tokenwarden/tokenwarden/internal/sink/all"
