package chaos

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/samsa-streaming/samsa/internal/history"
)

// externalClients are the producers of other client libraries a campaign
// runs throughout (Campaign.Clients).
type externalClients struct {
	cmds      []*exec.Cmd
	outs      []*bytes.Buffer
	histories []string
	stopFile  string
	failed    error
}

// startClients starts every Campaign.Clients command against seeds.
func (c Campaign) startClients(seeds []string) (*externalClients, error) {
	ext := &externalClients{stopFile: filepath.Join(c.Dir, "clients.stop")}
	os.Remove(ext.stopFile)
	for i, command := range c.Clients {
		hist := filepath.Join(c.Dir, fmt.Sprintf("client-%d.history.jsonl", i+1))
		cmd := exec.Command("sh", "-c", command+` "$@"`, "sh", strings.Join(seeds, ","), topic, hist, ext.stopFile)
		cmd.Dir = c.Dir
		out := &bytes.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			ext.stop(c.Logger)
			return nil, fmt.Errorf("--client %q: %w", command, err)
		}
		c.Logger.Info("client started", "command", command, "history", hist)
		ext.cmds, ext.outs, ext.histories = append(ext.cmds, cmd), append(ext.outs, out), append(ext.histories, hist)
	}
	return ext, nil
}

// stop asks every client to finish (the stop file) and waits for it, at
// most three minutes each (its outstanding sends are answered first).
func (e *externalClients) stop(logger *slog.Logger) {
	if e == nil || len(e.cmds) == 0 {
		return
	}
	if err := os.WriteFile(e.stopFile, nil, 0o644); err != nil && e.failed == nil {
		e.failed = err
	}
	for i, cmd := range e.cmds {
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var err error
		select {
		case err = <-done:
		case <-time.After(3 * time.Minute):
			cmd.Process.Kill()
			err = fmt.Errorf("did not stop within 3 minutes")
		}
		logger.Info("client stopped", "command", cmd.Args[2], "output", strings.TrimSpace(e.outs[i].String()))
		if err != nil && e.failed == nil {
			e.failed = fmt.Errorf("--client %q: %v: %s", cmd.Args[2], err, strings.TrimSpace(e.outs[i].String()))
		}
	}
	e.cmds = nil
}

func (e *externalClients) err() error {
	if e == nil {
		return nil
	}
	return e.failed
}

func readHistory(path string) (*history.History, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return history.Read(f)
}
