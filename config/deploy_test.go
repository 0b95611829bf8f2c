package config

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

// TestDeployUsesKnownVariables keeps the deployment files honest: a JIANFU_*
// name that Config does not read would be silently ignored in production.
func TestDeployUsesKnownVariables(t *testing.T) {
	token := regexp.MustCompile(`JIANFU_[A-Z0-9_]+`)
	found := 0
	err := filepath.WalkDir(filepath.Join("..", "deploy"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, name := range token.FindAll(data, -1) {
			found++
			// The test bed's own switches (deploy/cluster), never settings.
			if strings.HasPrefix(string(name), "JIANFU_TEST_") || strings.HasPrefix(string(name), "JIANFU_CLUSTER_") {
				continue
			}
			if !slices.Contains(Variables, string(name)) {
				t.Errorf("%s: %s is not a setting Jianfu reads (see config.Variables)", path, name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk deploy/: %v", err)
	}
	if found == 0 {
		t.Fatal("found no JIANFU_* variable in deploy/: the check ran on nothing")
	}
}

// TestDeployYAMLParses catches indentation slips in files nobody can run here.
func TestDeployYAMLParses(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "deploy", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	k8s, err := filepath.Glob(filepath.Join("..", "deploy", "k8s", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 || len(k8s) == 0 {
		t.Fatalf("want the compose file and Kubernetes manifests, found %v and %v", paths, k8s)
	}
	for _, path := range paths {
		docs := decodeYAML(t, path)
		if len(docs) != 1 || docs[0]["services"] == nil {
			t.Errorf("%s: want one document with services", path)
		}
	}
	for _, path := range k8s {
		for i, doc := range decodeYAML(t, path) {
			meta, _ := doc["metadata"].(map[string]any)
			if doc["apiVersion"] == nil || doc["kind"] == nil || meta["name"] == nil {
				t.Errorf("%s document %d: want apiVersion, kind and metadata.name", path, i+1)
			}
			if meta["namespace"] != nil {
				t.Errorf("%s document %d: manifests stay namespace-agnostic", path, i+1)
			}
		}
	}
}

func decodeYAML(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var docs []map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Errorf("%s: %v", path, err)
			return nil
		}
		if doc != nil {
			docs = append(docs, doc)
		}
	}
	if len(docs) == 0 && strings.TrimSpace(string(data)) != "" {
		t.Errorf("%s: no YAML document", path)
	}
	return docs
}
