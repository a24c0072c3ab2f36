package main

import (
	"bytes"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestBuildReproducesCommittedDist is what makes committing dist/ safe: the embedded files must be
// exactly what the sources build to, so an edited source without a rebuild (or a hand-edited dist/)
// fails here and in CI.
func TestBuildReproducesCommittedDist(t *testing.T) {
	if _, err := os.Stat("../node_modules/preact/package.json"); err != nil {
		msg := "web/node_modules is missing, so web/dist cannot be rebuilt and compared: run `npm ci --prefix web`"
		if os.Getenv("PARLEY_TEST_REQUIRE_ALL") == "1" {
			t.Fatal(msg + " (PARLEY_TEST_REQUIRE_ALL=1 forbids skipping)")
		}
		t.Skip(msg)
	}

	first, second := t.TempDir(), t.TempDir()
	var log bytes.Buffer
	for _, out := range []string{first, second} {
		if err := run([]string{"-src", "..", "-out", out}, &log); err != nil {
			t.Fatalf("build: %v\n%s", err, log.String())
		}
	}
	if !strings.Contains(log.String(), "widget.js") {
		t.Errorf("the build did not report what it wrote:\n%s", log.String())
	}

	built := readTree(t, first)
	// Two builds disagreeing means the build itself is not deterministic, which no rebuild can fix.
	diffTrees(t, "second build", readTree(t, second), "first build", built, "make web/build deterministic")
	diffTrees(t, "committed web/dist", readTree(t, "../dist"), "fresh build", built,
		"run `go generate ./web` and commit web/dist")
}

// TestWriteRemovesOnlyWhatItOwns: stale hashed files must go (they would be embedded forever), but a
// mistaken -out must not cost anyone unrelated files.
func TestWriteRemovesOnlyWhatItOwns(t *testing.T) {
	out := t.TempDir()
	for _, name := range []string{"widget/panel-OLDHASH1.js", "console/assets/main-OLDHASH1.js", "keep.txt"} {
		p := filepath.Join(out, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string][]byte{"widget.js": []byte("new"), "widget/panel-NEWHASH1.js": []byte("new")}
	if err := write(out, files); err != nil {
		t.Fatal(err)
	}
	got := slices.Sorted(maps.Keys(readTree(t, out)))
	want := []string{"keep.txt", "widget.js", "widget/panel-NEWHASH1.js"}
	if !slices.Equal(got, want) {
		t.Errorf("after write: %v, want %v", got, want)
	}
}

func TestRunRejectsStrayArguments(t *testing.T) {
	var log bytes.Buffer
	if err := run([]string{"-out", t.TempDir(), "extra"}, &log); err == nil {
		t.Error("run accepted a stray argument")
	}
}

// readTree returns every file under dir keyed by its slash-separated relative path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = body
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func diffTrees(t *testing.T, gotName string, got map[string][]byte, wantName string, want map[string][]byte, fix string) {
	t.Helper()
	union := maps.Clone(got)
	maps.Copy(union, want)
	names := slices.Sorted(maps.Keys(union))
	bad := 0
	for _, name := range names {
		g, inGot := got[name]
		w, inWant := want[name]
		switch {
		case !inGot:
			t.Errorf("%s lacks %s, which the %s has", gotName, name, wantName)
		case !inWant:
			t.Errorf("%s has %s, which the %s lacks", gotName, name, wantName)
		case !bytes.Equal(g, w):
			t.Errorf("%s: %s differs from the %s (%d vs %d bytes)", name, gotName, wantName, len(g), len(w))
		default:
			continue
		}
		bad++
	}
	if bad > 0 {
		t.Errorf("%d file(s) differ: %s", bad, fix)
	}
}
