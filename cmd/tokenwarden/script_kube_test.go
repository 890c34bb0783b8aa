package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"gitlab.com/tokenwarden/tokenwarden/internal/kubetest"
)

// kubeCondition is [kube]: a real Kubernetes API server can run here
// (etcd and kube-apiserver, see internal/kubetest). With CI=true a missing
// one fails the script instead of skipping it.
func kubeCondition(cond string) (bool, error) {
	if cond != "kube" {
		return false, fmt.Errorf("unknown condition %q", cond)
	}
	_, missing, err := kubetest.Shared()
	return err == nil && missing == "", err
}

func kubeScriptCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){"kube": cmdKube}
}

// cmdKube drives the test binary's shared Kubernetes API server:
//
//	kube start       sets KUBECONFIG (the admin's kubeconfig) and KUBE_NS
//	                 (a fresh namespace) for later commands
//	kube create NAME TYPE KEY=VALUE...
//	                 creates Secret NAME in $KUBE_NS
//	kube get [-env VAR] NAME KEY [FIELD...]
//	                 prints the Secret's KEY; with FIELDs, KEY's value is
//	                 JSON and the field at that path is printed; -env VAR
//	                 stores it in $VAR instead
//	kube labels NAME prints the Secret's labels and annotations, one
//	                 key=value a line
func cmdKube(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! kube")
	}
	if len(args) == 0 {
		ts.Fatalf("usage: kube start|create|get|labels ...")
	}
	c, missing, err := kubetest.Shared()
	ts.Check(err)
	if missing != "" {
		ts.Fatalf("kube: %s (guard the script with [!kube] skip)", missing)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	secrets := c.Client.CoreV1().Secrets(ts.Getenv("KUBE_NS"))
	switch args[0] {
	case "start":
		ns, err := c.NewNamespace()
		ts.Check(err)
		ts.Setenv("KUBECONFIG", c.Kubeconfig)
		ts.Setenv("KUBE_NS", ns)
	case "create":
		if len(args) < 3 {
			ts.Fatalf("usage: kube create NAME TYPE KEY=VALUE...")
		}
		sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: args[1]}, Type: corev1.SecretType(args[2]), Data: map[string][]byte{}}
		for _, kv := range args[3:] {
			k, v, _ := strings.Cut(kv, "=")
			sec.Data[k] = []byte(v)
		}
		_, err := secrets.Create(ctx, sec, metav1.CreateOptions{})
		ts.Check(err)
	case "get":
		args = args[1:]
		env := ""
		if len(args) >= 2 && args[0] == "-env" {
			env, args = args[1], args[2:]
		}
		if len(args) < 2 {
			ts.Fatalf("usage: kube get [-env VAR] NAME KEY [FIELD...]")
		}
		sec, err := secrets.Get(ctx, args[0], metav1.GetOptions{})
		ts.Check(err)
		raw, ok := sec.Data[args[1]]
		if !ok {
			ts.Fatalf("Secret %s has no key %s", args[0], args[1])
		}
		val := string(raw)
		if len(args) > 2 {
			var doc any
			ts.Check(json.Unmarshal(raw, &doc))
			for _, f := range args[2:] {
				m, ok := doc.(map[string]any)
				if !ok {
					ts.Fatalf("%s: no field %s", args[1], f)
				}
				doc = m[f]
			}
			s, ok := doc.(string)
			if !ok {
				ts.Fatalf("%s %s: not a string: %v", args[1], strings.Join(args[2:], "."), doc)
			}
			val = s
		}
		if env != "" {
			ts.Setenv(env, val)
			return
		}
		fmt.Fprintln(ts.Stdout(), val)
	case "labels":
		if len(args) != 2 {
			ts.Fatalf("usage: kube labels NAME")
		}
		sec, err := secrets.Get(ctx, args[1], metav1.GetOptions{})
		ts.Check(err)
		for k, v := range sec.Labels {
			fmt.Fprintf(ts.Stdout(), "label %s=%s\n", k, v)
		}
		for k, v := range sec.Annotations {
			fmt.Fprintf(ts.Stdout(), "annotation %s=%s\n", k, v)
		}
	default:
		ts.Fatalf("kube: unknown command %q", args[0])
	}
}
