package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/config"
	"github.com/parley-chat/parley/internal/store"
)

const adminUsage = `Usage:
  parley admin create-agent -email E [-name N] [-role admin|supervisor|agent] [-password P] [-capacity N]
  parley admin reset-password -email E [-password P]
  parley admin list-agents
  parley admin new-epoch      (after restoring a backup: clients drop cached positions and reload)

Passwords not given are generated and printed once. The database flags (-data-dir, -db, ...) are those of
'parley serve -h'.
`

// admin manages agents from the command line, for the first admin on a headless server and for an admin
// who lost their password.
func admin(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, adminUsage)
		return &config.UsageError{Msg: "admin needs an action: create-agent, reset-password, list-agents or new-epoch"}
	}
	action, args := args[0], args[1:]
	var email, name, role, password string
	var capacity int
	extra := func(fs *flag.FlagSet) {
		switch action {
		case "create-agent":
			fs.StringVar(&email, "email", "", "the agent's e-mail (their login)")
			fs.StringVar(&name, "name", "", "display name")
			fs.StringVar(&role, "role", "agent", "admin, supervisor or agent")
			fs.StringVar(&password, "password", "", "password (generated when empty)")
			fs.IntVar(&capacity, "capacity", chat.DefaultCapacity, "maximum concurrent conversations")
		case "reset-password":
			fs.StringVar(&email, "email", "", "the agent's e-mail")
			fs.StringVar(&password, "password", "", "new password (generated when empty)")
		}
	}
	switch action {
	case "create-agent", "reset-password", "list-agents", "new-epoch":
	default:
		fmt.Fprint(stderr, adminUsage)
		return &config.UsageError{Msg: fmt.Sprintf("unknown admin action %q", action)}
	}
	cfg, err := config.Load("admin "+action, args, getenv, stderr, extra)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	st, err := openStore(ctx, cfg, log, stderr, cfg.Migrate)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := auth.New(st, auth.Options{BcryptCost: bcryptCost})
	switch action {
	case "create-agent":
		if email == "" {
			return &config.UsageError{Msg: "create-agent needs -email"}
		}
		shown := ""
		if password == "" {
			password = app.GeneratePassword()
			shown = password
		}
		a, err := svc.CreateAgent(ctx, nil, auth.NewAgent{Email: email, Name: name, Password: password,
			Role: chat.Role(role), Capacity: capacity}, "")
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "created %s %s (%s)\n", a.Role, a.Email, a.ID)
		if shown != "" {
			fmt.Fprintf(stdout, "password: %s\n", shown)
		}
	case "reset-password":
		if email == "" {
			return &config.UsageError{Msg: "reset-password needs -email"}
		}
		a, err := st.AgentByEmail(ctx, email)
		if err != nil {
			return describe(err)
		}
		shown := ""
		if password == "" {
			password = app.GeneratePassword()
			shown = password
		}
		if err := svc.SetPassword(ctx, nil, a.ID, "", password, ""); err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "password of %s reset; every session of theirs was logged out\n", a.Email)
		if shown != "" {
			fmt.Fprintf(stdout, "password: %s\n", shown)
		}
	case "list-agents":
		return listAgents(ctx, st, stdout)
	case "new-epoch":
		old := st.Epoch()
		epoch, err := st.RotateEpoch(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "epoch changed from %s to %s; connected clients will reload when they next resume\n", old, epoch)
	}
	return nil
}

func listAgents(ctx context.Context, st *store.Store, w io.Writer) error {
	agents, err := st.Agents(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EMAIL\tNAME\tROLE\tCAPACITY\tSTATUS\tID")
	for _, a := range agents {
		status := "enabled"
		if a.Disabled {
			status = "disabled"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", a.Email, a.Name, a.Role, a.Capacity, status, a.ID)
	}
	return tw.Flush()
}

// describe turns a domain error into a message for the terminal.
func describe(err error) error {
	if c := chat.ErrorCode(err); c != chat.CodeInternal && c != "" {
		return fmt.Errorf("%s", chat.ErrorMessage(err))
	}
	return err
}
