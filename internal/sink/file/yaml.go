package file

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// yamlFormat edits one string value in a YAML mapping through yaml.Node, so
// comments and key order survive; "a.b" addresses a nested mapping. The file
// is re-indented with two spaces.
type yamlFormat struct{}

func parseYAML(content []byte) (*yaml.Node, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(content))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, errors.New("the file holds several YAML documents; tokenwarden edits only single-document files")
	}
	if doc.Kind == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("the top-level YAML value is not a mapping")
	}
	return &doc, nil
}

// yamlLookup returns the value node of key in mapping m, or nil. Aliases
// are not followed: a secret is never written through one.
func yamlLookup(m *yaml.Node, key string) *yaml.Node {
	var found *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Kind == yaml.ScalarNode && m.Content[i].Value == key {
			found = m.Content[i+1]
		}
	}
	return found
}

func (yamlFormat) get(content []byte, key string) (string, bool, error) {
	doc, err := parseYAML(content)
	if err != nil {
		return "", false, err
	}
	segs := strings.Split(key, ".")
	cur := doc.Content[0]
	for i, seg := range segs {
		if cur.Kind != yaml.MappingNode {
			return "", false, fmt.Errorf("key %s: %s is not a mapping", key, strings.Join(segs[:i], "."))
		}
		cur = yamlLookup(cur, seg)
		if cur == nil {
			return "", false, nil
		}
	}
	if cur.Kind != yaml.ScalarNode || cur.ShortTag() == "!!null" {
		if cur.ShortTag() == "!!null" {
			return "", false, nil
		}
		return "", false, fmt.Errorf("key %s does not hold a scalar", key)
	}
	return cur.Value, true, nil
}

func (yamlFormat) set(content []byte, key, value string) ([]byte, error) {
	doc, err := parseYAML(content)
	if err != nil {
		return nil, err
	}
	segs := strings.Split(key, ".")
	cur := doc.Content[0]
	for i, seg := range segs {
		if cur.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("key %s: %s is not a mapping", key, strings.Join(segs[:i], "."))
		}
		next := yamlLookup(cur, seg)
		last := i == len(segs)-1
		if next == nil {
			next = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			if last {
				next = &yaml.Node{Kind: yaml.ScalarNode}
			}
			cur.Content = append(cur.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: seg}, next)
		}
		cur = next
	}
	if cur.Kind != yaml.ScalarNode {
		return nil, fmt.Errorf("key %s does not hold a scalar; refusing to replace it", key)
	}
	if cur.Anchor != "" && yamlAliased(doc, cur) {
		// Every alias would become the secret too.
		return nil, fmt.Errorf("key %s is an anchor (&%s) that other keys refer to (*%s); refusing to change them too", key, cur.Anchor, cur.Anchor)
	}
	cur.Tag, cur.Value = "!!str", value
	if cur.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 {
		cur.Style = 0 // the encoder quotes when a plain scalar would not read back as this string
	}
	spellFlowNulls(doc, false)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode YAML: %w", err)
	}
	return b.Bytes(), nil
}

// yamlAliased reports whether an alias anywhere under n refers to target.
func yamlAliased(n, target *yaml.Node) bool {
	if n.Kind == yaml.AliasNode && n.Alias == target {
		return true
	}
	for _, c := range n.Content {
		if yamlAliased(c, target) {
			return true
		}
	}
	return false
}

// spellFlowNulls writes "null" for an empty null inside a flow collection
// ({a} or {a: }): yaml.v3 would encode it as an empty quoted string, and
// so change another key's value. Found by FuzzYAML.
func spellFlowNulls(n *yaml.Node, inFlow bool) {
	inFlow = inFlow || n.Style&yaml.FlowStyle != 0
	if inFlow && n.Kind == yaml.ScalarNode && n.Value == "" && n.ShortTag() == "!!null" {
		n.Value = "null"
	}
	for _, c := range n.Content {
		spellFlowNulls(c, inFlow)
	}
}
