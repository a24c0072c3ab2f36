package reliability

import (
	"context"
	"net/http"
	"testing"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apptest"
	"github.com/parley-chat/parley/internal/chat"
)

// Canned replies: an agent manages their own; supervisors and admins the shared ones. Edits keep shortcuts
// unique per owner; another agent's reply does not exist for you, a shared one is read-only for an agent.
func TestCannedReplies(t *testing.T) {
	n := apptest.Start(t, "sqlite", apptest.Options{})
	ctx := context.Background()
	ann := agent(t, n, "ann")
	bob := agent(t, n, "bob")
	sup := n.Agent("sue@example.com", chat.RoleSupervisor)
	type reply struct {
		ID       string `json:"id"`
		Shortcut string `json:"shortcut"`
		Body     string `json:"body"`
		Shared   bool   `json:"shared"`
	}
	create := func(api *client.API, shortcut, body string, shared bool) reply {
		t.Helper()
		var r reply
		if _, err := api.Do(ctx, http.MethodPost, "/api/v1/canned-replies", map[string]any{"shortcut": shortcut, "body": body, "shared": shared}, &r); err != nil {
			t.Fatalf("create %s: %v", shortcut, err)
		}
		return r
	}
	list := func(api *client.API) map[string]reply {
		t.Helper()
		var l struct {
			Replies []reply `json:"canned_replies"`
		}
		if _, err := api.Do(ctx, http.MethodGet, "/api/v1/canned-replies", nil, &l); err != nil {
			t.Fatal(err)
		}
		out := map[string]reply{}
		for _, r := range l.Replies {
			out[r.Shortcut] = r
		}
		return out
	}
	hi := create(ann, "hi", "Hello!", false)
	create(ann, "bye", "Goodbye", false)
	shared := create(sup, "退款", "退款将在 3 个工作日内到账。", true)

	// Ann edits hers: the new text holds at once; a shortcut she already uses is a conflict.
	var got reply
	if _, err := ann.Do(ctx, http.MethodPatch, "/api/v1/canned-replies/"+hi.ID, map[string]any{"shortcut": "hello", "body": "Hello, how can I help?"}, &got); err != nil ||
		got.Shortcut != "hello" || got.Body != "Hello, how can I help?" {
		t.Fatalf("edit: %+v %v", got, err)
	}
	if r := list(ann)["hello"]; r.Body != "Hello, how can I help?" {
		t.Fatalf("after the edit Ann lists %+v", list(ann))
	}
	for _, tc := range []struct {
		who  *client.API
		id   string
		body map[string]any
		code string
	}{
		{ann, hi.ID, map[string]any{"shortcut": "bye"}, "conflict"},
		{ann, hi.ID, map[string]any{"shortcut": "two words"}, "invalid"},
		{ann, hi.ID, map[string]any{"body": ""}, "invalid"},
		{ann, hi.ID, map[string]any{"shared": true}, "invalid"}, // sharing is chosen at creation
		{bob, hi.ID, map[string]any{"body": "mine now"}, "not_found"},
		{ann, shared.ID, map[string]any{"body": "changed"}, "forbidden"},
	} {
		if _, err := tc.who.Do(ctx, http.MethodPatch, "/api/v1/canned-replies/"+tc.id, tc.body, nil); client.Code(err) != tc.code {
			t.Errorf("PATCH %v: %v, want %s", tc.body, err, tc.code)
		}
	}
	if _, err := ann.Do(ctx, http.MethodDelete, "/api/v1/canned-replies/"+shared.ID, nil, nil); client.Code(err) != "forbidden" {
		t.Errorf("an agent deleting a shared reply: %v, want forbidden", err)
	}
	if _, err := bob.Do(ctx, http.MethodDelete, "/api/v1/canned-replies/"+hi.ID, nil, nil); client.Code(err) != "not_found" {
		t.Errorf("deleting another agent's reply: %v, want not_found", err)
	}

	// The supervisor edits the shared one; every agent sees the new text; the admin deletes it.
	if _, err := sup.Do(ctx, http.MethodPatch, "/api/v1/canned-replies/"+shared.ID, map[string]any{"body": "退款将在 5 个工作日内到账。"}, nil); err != nil {
		t.Fatal(err)
	}
	if r := list(bob)["退款"]; !r.Shared || r.Body != "退款将在 5 个工作日内到账。" {
		t.Fatalf("Bob sees the shared reply as %+v", r)
	}
	if _, err := n.Admin.Do(ctx, http.MethodDelete, "/api/v1/canned-replies/"+shared.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := list(ann)["退款"]; ok {
		t.Fatal("the deleted shared reply is still listed")
	}
	var entries struct {
		Entries []struct {
			Action string `json:"action"`
		} `json:"entries"`
	}
	if _, err := n.Admin.Do(ctx, http.MethodGet, "/api/v1/audit?limit=500", nil, &entries); err != nil {
		t.Fatal(err)
	}
	updates := 0
	for _, e := range entries.Entries {
		if e.Action == "canned.update" {
			updates++
		}
	}
	if updates != 2 {
		t.Errorf("%d canned.update audit entries, want 2", updates)
	}
}
