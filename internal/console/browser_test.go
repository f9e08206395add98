package console_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// chromium finds Debian's Chromium (or SAMSA_CHROMIUM). Without it the test
// fails: CI installs it (.ci/run), and a console nobody opened in a
// browser is not tested. SAMSA_SKIP_BROWSER=1 skips on purpose.
func chromium(t *testing.T) string {
	t.Helper()
	if os.Getenv("SAMSA_SKIP_BROWSER") == "1" {
		t.Skip("SAMSA_SKIP_BROWSER=1")
	}
	if p := os.Getenv("SAMSA_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium found: apt-get install chromium (or set SAMSA_CHROMIUM; SAMSA_SKIP_BROWSER=1 skips this test)")
	return ""
}

// browser starts a headless Chromium with a laptop-sized viewport.
func browser(t *testing.T, exe string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.WindowSize(1366, 768), chromedp.UserDataDir(t.TempDir()))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTime := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() { cancelTime(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1366, 768)); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	return ctx
}

// page wraps a browser tab with the test's helpers.
type page struct {
	t     *testing.T
	ctx   context.Context
	url   string
	shots string
}

func (p *page) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, steps...); err != nil {
		p.t.Fatal(err)
	}
}

// open goes to a console page (#/...) and waits until expr is true.
func (p *page) open(hash, expr string) {
	p.t.Helper()
	p.do(chromedp.Navigate(p.url + "/ui/" + hash))
	p.wait(expr)
}

// wait polls a JavaScript condition (20 s at most).
func (p *page) wait(expr string) {
	p.t.Helper()
	_, err := chromedp.Run(p.ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		p.t.Fatalf("waiting for %s: %v (messages: %q; page: %s)", expr, err, p.text("#toast"), p.text("#main"))
	}
}

func (p *page) text(sel string) string {
	v, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {}).innerText || ""`, sel)))
	return v
}

func evalJS[T any](p *page, expr string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// shot saves the viewport as docs/img/console-NAME.png when
// SAMSA_UPDATE_SCREENSHOTS=1, else in a temporary directory.
func (p *page) shot(name string) {
	p.t.Helper()
	// The page as one comes to it: at the top, no messages left over
	// from the steps before.
	evalJS[bool](p, `document.getElementById('toast').replaceChildren(), window.scrollTo(0, 0), true`)
	png, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.shots, "console-"+name+".png"), png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// choose picks an option of a select as a user does (a change event
// follows).
func (p *page) choose(id, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(chromedp.SetValue(chromedp.ID(id), value),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`document.getElementById(%q).dispatchEvent(new Event('change'))`, id)))
			return err
		}))
}

// accessible checks the page as it stands: every form control has a
// label, every button a name, charts a text alternative, and nothing is
// wider than the laptop screen.
func (p *page) accessible(name string) {
	p.t.Helper()
	bad := evalJS[[]string](p, `[
	  ...[...document.querySelectorAll('input, select, textarea')].filter(e => !e.labels || e.labels.length === 0).map(e => 'unlabelled ' + e.tagName + '#' + e.id),
	  ...[...document.querySelectorAll('button')].filter(b => !(b.textContent.trim() || b.getAttribute('aria-label'))).map(b => 'unnamed button'),
	  ...[...document.querySelectorAll('svg')].filter(s => !s.getAttribute('aria-label')).map(s => 'svg without a label'),
	  ...(document.documentElement.scrollWidth > window.innerWidth ? ['wider than the window: ' + document.documentElement.scrollWidth] : []),
	  ...(document.querySelector('h1') ? [] : ['no h1']),
	]`)
	if len(bad) > 0 {
		p.t.Errorf("%s page: %s", name, strings.Join(bad, "; "))
	}
}

// TestBrowser opens every page of the console in Chromium against a broker
// holding data, and uses it: create a topic and alter its config (by
// keyboard), browse to a message by offset, reset a group's offsets and
// watch the lag fall as a consumer catches up. It saves a screenshot of
// each page (docs/img with SAMSA_UPDATE_SCREENSHOTS=1).
func TestBrowser(t *testing.T) {
	exe := chromium(t)
	// The console logs its users in over SASL (HTTP Basic, sent by the
	// browser as a header the test sets): admin is a super user, as is
	// the PLAINTEXT listener's ANONYMOUS the test's own clients use.
	b, url := startSecure(t)
	fill(t, b.Addr(), 500)
	extras(t, b.Addr())
	adm := kadm.NewClient(client(t, b.Addr()))

	shots := t.TempDir()
	if os.Getenv("SAMSA_UPDATE_SCREENSHOTS") == "1" {
		shots = filepath.Join("..", "..", "docs", "img")
	}
	p := &page{t: t, ctx: browser(t, exe), url: url, shots: shots}
	p.login("admin", "admin-secret")

	// Overview: / leads to the UI; brokers, controller, disks, version.
	p.do(chromedp.Navigate(url + "/"))
	p.wait(`document.querySelector('#brokers tbody td') && document.querySelector('#logdirs meter')`)
	md, err := adm.BrokerMetadata(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.text("#cluster-id"); got != md.Cluster {
		t.Fatalf("cluster id shown %q, want %q", got, md.Cluster)
	}
	p.accessible("overview")
	p.shot("overview")

	// Keyboard: Tab past the skip link to the navigation, Enter follows.
	// (The first Tab may only bring focus into the page.)
	evalJS[bool](p, `document.activeElement.blur(), true`)
	for i := 0; i < 3 && evalJS[string](p, `document.activeElement.textContent`) != "Skip to content"; i++ {
		p.do(chromedp.KeyEvent(kb.Tab))
	}
	p.do(chromedp.KeyEvent(kb.Tab))
	if got := evalJS[string](p, `document.activeElement.textContent`); got != "Overview" {
		t.Fatalf("Tab after the skip link is on %q, want the Overview link", got)
	}
	p.do(chromedp.KeyEvent(kb.Tab))
	if got := evalJS[string](p, `document.activeElement.textContent`); got != "Topics" {
		t.Fatalf("third Tab is on %q, want the Topics link", got)
	}
	p.do(chromedp.KeyEvent(kb.Enter))
	p.wait(`location.hash === '#/topics' && document.querySelector('#topics tr[data-topic="orders"]')`)
	if row := p.text(`#topics tr[data-topic="orders"]`); !strings.Contains(row, "1,500") {
		t.Fatalf("orders row %q does not show 1,500 records", row)
	}
	p.accessible("topics")
	p.shot("topics")

	// Create a topic with the keyboard only: type, Enter submits.
	p.do(chromedp.Focus(chromedp.ID("new-topic-partitions")),
		chromedp.KeyEvent("\b"), chromedp.KeyEvent("6"),
		chromedp.Focus(chromedp.ID("new-topic-name")), chromedp.KeyEvent("payments"), chromedp.KeyEvent(kb.Enter))
	p.wait(`location.hash === '#/topics/payments' && document.querySelectorAll('#partitions tbody tr').length === 6`)
	td, err := adm.ListTopics(ctxT(t), "payments")
	if err != nil || len(td["payments"].Partitions) != 6 {
		t.Fatalf("payments after the UI created it: %v %+v", err, td)
	}
	// Alter a config, then see it listed as the topic's own.
	p.do(chromedp.Focus(chromedp.ID("cfg-name")), chromedp.KeyEvent("retention.ms"),
		chromedp.Focus(chromedp.ID("cfg-value")), chromedp.KeyEvent("3600000"), chromedp.KeyEvent(kb.Enter))
	p.wait(`[...document.querySelectorAll('#configs tr.nondefault')].some(r => r.innerText.includes('retention.ms') && r.innerText.includes('3600000'))`)
	cfgs, err := adm.DescribeTopicConfigs(ctxT(t), "payments")
	if err != nil {
		t.Fatal(err)
	}
	if c, err := cfgs.On("payments", nil); err != nil || !hasConfig(c, "retention.ms", "3600000") {
		t.Fatalf("retention.ms not set by the UI: %v", err)
	}

	// One topic's page.
	p.open("#/topics/orders", `document.querySelectorAll('#partitions tbody tr').length === 3 && document.querySelector('#configs tbody td')`)
	p.accessible("topic")
	p.shot("topic")

	// The message browser: partition 1 from offset 42, shown as JSON.
	p.open("#/messages", `document.querySelectorAll('#msg-topic option').length >= 4`)
	p.do(chromedp.SetValue(chromedp.ID("msg-topic"), "orders"),
		chromedp.SetValue(chromedp.ID("msg-partition"), "1"),
		p.choose("msg-start", "offset"),
		chromedp.SetValue(chromedp.ID("msg-offset"), "42"),
		chromedp.SetValue(chromedp.ID("msg-limit"), "10"),
		chromedp.Click(chromedp.CSS(`#browse button[type=submit]`)))
	p.wait(`location.hash.includes('offset=42') && document.querySelector('#messages tr[data-offset="42"]')`)
	if row := p.text(`#messages tr[data-offset="42"]`); !strings.Contains(row, "order-1-42") || !strings.Contains(row, "source: web") {
		t.Fatalf("offset 42 shows %q", row)
	}
	if n := evalJS[int](p, `document.querySelectorAll('#messages tbody tr').length`); n != 10 {
		t.Fatalf("%d rows, want 10", n)
	}
	p.do(p.choose("msg-format", "json"))
	p.wait(`document.querySelector('#messages tr[data-offset="42"]').innerText.includes('"amount": 52.5')`)
	p.accessible("messages")
	p.shot("messages")

	// Groups: billing has committed half of orders.
	p.open("#/groups", `document.querySelector('#groups tr[data-group="billing"]')`)
	p.accessible("groups")
	p.do(chromedp.Click(chromedp.CSS(`#groups tr[data-group="billing"] a`)))
	p.wait(`document.getElementById('group-lag') && document.getElementById('group-lag').innerText === '750'`)
	// Reset to the earliest offsets through the form.
	p.do(p.choose("reset-to", "earliest"), chromedp.Click(chromedp.ID("reset-button")))
	p.wait(`document.getElementById('group-lag').innerText === '1,500'`)
	committed, err := adm.FetchOffsets(ctxT(t), "billing")
	if err != nil {
		t.Fatal(err)
	}
	committed.Each(func(o kadm.OffsetResponse) {
		if o.At != 0 {
			t.Errorf("%s/%d committed at %d after the reset, want 0", o.Topic, o.Partition, o.At)
		}
	})

	// A consumer catches up, 60 records every 250 ms; the page's lag falls
	// to 0 and the chart draws it.
	stop := make(chan struct{})
	done := make(chan struct{})
	go consumeSlowly(t, b.Addr(), stop, done)
	defer func() { close(stop); <-done }()
	var seen []string
	deadline := time.Now().Add(60 * time.Second)
	for {
		lag := p.text("#group-lag")
		if len(seen) == 0 || seen[len(seen)-1] != lag {
			seen = append(seen, lag)
		}
		if lag == "0" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lag did not reach 0; seen %v", seen)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if len(seen) < 4 {
		t.Fatalf("lag went %v: want it seen falling over several refreshes", seen)
	}
	for i := 1; i < len(seen); i++ {
		if parse(seen[i]) >= parse(seen[i-1]) {
			t.Fatalf("lag did not fall steadily: %v", seen)
		}
	}
	p.wait(`document.getElementById('group-state').innerText === 'Stable' && document.querySelector('#members tbody td.mono')`)
	if n := evalJS[int](p, `+document.getElementById('lag-chart').dataset.points`); n < 4 {
		t.Fatalf("the lag chart has %d points", n)
	}
	p.accessible("group")
	p.shot("group")

	// ACLs and users.
	p.open("#/security", `document.querySelector('#acls tbody td') && document.querySelector('#users tbody td')`)
	if !strings.Contains(p.text("#acls"), "User:alice") || !strings.Contains(p.text("#users"), "alice") {
		t.Fatalf("security page: %s", p.text("#main"))
	}
	securityForms(t, p, adm, b.ListenerAddr("SASL_PLAINTEXT"))
	p.accessible("security")
	p.shot("security")
	refusedInBrowser(t, p)
	p.login("admin", "admin-secret")

	// Transactions.
	p.open("#/transactions", `document.querySelector('#transactions tbody td') && document.querySelector('#transactions').innerText.includes('audit-writer')`)
	p.accessible("transactions")
	p.shot("transactions")

	// Pages stay current: a record produced now shows on the topics page
	// without a reload.
	p.open("#/topics", `document.querySelector('#topics tr[data-topic="payments"]')`)
	cl := client(t, b.Addr())
	if err := cl.ProduceSync(ctxT(t), &kgo.Record{Topic: "payments", Value: []byte("late")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	p.wait(`document.querySelector('#topics tr[data-topic="payments"]').innerText.includes('\t1\t')`)
}

// login makes the browser send user's credentials with every request,
// as it does once a user answered the Basic authentication prompt.
func (p *page) login(user, pass string) {
	p.t.Helper()
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	p.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": auth}})
		return err
	}))
}

// keys types each key in turn into the focused element.
func keys(ks ...string) chromedp.Action[chromedp.Void] {
	var steps []chromedp.Action[chromedp.Void]
	for _, k := range ks {
		steps = append(steps, chromedp.KeyEvent(k))
	}
	return chromedp.Steps(steps...)
}

// securityForms adds an ACL and a SCRAM user through the security page's
// forms with the keyboard only, checks the broker has them (DescribeAcls,
// a SCRAM login from franz-go), and deletes an ACL with Delete, Confirm.
func securityForms(t *testing.T, p *page, adm *kadm.Client, saslAddr string) {
	t.Helper()
	// Principal, Tab over the host (*) and the resource type (TOPIC) to
	// the name, Tab over the pattern (LITERAL), ArrowDown from READ to
	// WRITE, Tab over the permission (ALLOW) to the button, Enter.
	p.do(chromedp.Focus(chromedp.ID("acl-principal")), chromedp.KeyEvent("User:carol"),
		keys(kb.Tab, kb.Tab, kb.Tab), chromedp.KeyEvent("payments"),
		keys(kb.Tab, kb.Tab, kb.ArrowDown, kb.Tab, kb.Tab, kb.Enter))
	p.wait(`document.getElementById('acl-outcome').innerText.startsWith('Added: ALLOW User:carol from * WRITE on TOPIC payments') &&
	  document.querySelector('#acls tr[data-principal="User:carol"]')`)
	res, err := adm.DescribeACLs(ctxT(t), kadm.NewACLs().Allow("User:carol").AllowHosts().Topics("payments").
		ResourcePatternType(kadm.ACLPatternLiteral).Operations(kadm.OpWrite))
	if err != nil || len(res) != 1 || len(res[0].Described) != 1 {
		t.Fatalf("DescribeAcls after the form: %v %+v", err, res)
	}

	// A SCRAM-SHA-512 user: name, ArrowDown to the second mechanism, Tab
	// over the iterations (8192), the password, Enter.
	const pw = "carol-Pa55word"
	p.do(chromedp.Focus(chromedp.ID("user-name")), chromedp.KeyEvent("carol"),
		keys(kb.Tab, kb.ArrowDown, kb.Tab, kb.Tab), chromedp.KeyEvent(pw), chromedp.KeyEvent(kb.Enter))
	p.wait(`document.getElementById('user-outcome').innerText === 'Saved the SCRAM-SHA-512 credential of carol (8192 iterations)' &&
	  document.querySelector('#users tr[data-user="carol"]')`)
	if got := evalJS[string](p, `document.getElementById('user-password').value`); got != "" {
		t.Fatalf("the password field still holds %q", got)
	}
	if strings.Contains(p.text("#main"), pw) {
		t.Fatal("the page shows the password")
	}
	if err := scramLogin(t, saslAddr, "carol", pw, true); err != nil {
		t.Fatalf("carol's SCRAM-SHA-512 login after the form: %v", err)
	}

	// Delete alice's DESCRIBE ACL: Enter on Delete arms it, Enter again
	// deletes.
	sel := `[...document.querySelectorAll('#acls tr[data-principal="User:alice"]')].find(r => r.innerText.includes('DESCRIBE')).querySelector('button')`
	evalJS[bool](p, sel+`.focus(), true`)
	p.do(chromedp.KeyEvent(kb.Enter))
	p.wait(sel + `.innerText === 'Confirm delete'`)
	p.do(chromedp.KeyEvent(kb.Enter))
	p.wait(`document.getElementById('acl-outcome').innerText.startsWith('Deleted: ALLOW User:alice from * DESCRIBE on TOPIC orders')`)
	res, err = adm.DescribeACLs(ctxT(t), kadm.NewACLs().Allow("User:alice").AllowHosts().Topics("orders").
		ResourcePatternType(kadm.ACLPatternLiteral).Operations(kadm.OpAny))
	if err != nil || len(res) != 1 || len(res[0].Described) != 1 || res[0].Described[0].Operation != kadm.OpRead {
		t.Fatalf("alice's ACLs after the delete: %v %+v", err, res)
	}
}

// refusedInBrowser signs in as carol, who has no ALTER on the cluster:
// the lists say they are not available, and an ACL sent through the form
// comes back refused, in the page.
func refusedInBrowser(t *testing.T, p *page) {
	t.Helper()
	p.login("carol", "carol-Pa55word")
	p.do(chromedp.Reload())
	p.wait(`location.hash === "#/security" && document.getElementById("who").innerText.includes("carol") && document.getElementById("acls") === null &&
	  document.querySelector('#main').innerText.includes('Not available')`)
	p.do(chromedp.Focus(chromedp.ID("acl-principal")), chromedp.KeyEvent("User:carol"),
		keys(kb.Tab, kb.Tab, kb.Tab), chromedp.KeyEvent("orders"), chromedp.KeyEvent(kb.Enter))
	p.wait(`document.getElementById('acl-outcome').getAttribute('role') === 'alert'`)
	if got := p.text("#acl-outcome"); !strings.Contains(got, "Not added: the broker refused: User:carol may not create ACLs (ALTER on the cluster)") {
		t.Fatalf("carol's ACL: %q", got)
	}
}

func hasConfig(c kadm.ResourceConfig, name, value string) bool {
	for _, cf := range c.Configs {
		if cf.Key == name && cf.Value != nil && *cf.Value == value {
			return true
		}
	}
	return false
}

func parse(s string) int {
	var n int
	fmt.Sscan(strings.ReplaceAll(s, ",", ""), &n)
	return n
}

// extras adds what the security and transactions pages show: an ACL, a
// SCRAM user and a committed transaction.
func extras(t *testing.T, addr string) {
	t.Helper()
	adm := kadm.NewClient(client(t, addr))
	ctx := ctxT(t)
	acl := kadm.NewACLs().Allow("User:alice").Topics("orders").Operations(kadm.OpRead, kadm.OpDescribe).ResourcePatternType(kadm.ACLPatternLiteral)
	if r, err := adm.CreateACLs(ctx, acl); err != nil || r[0].Err != nil {
		t.Fatalf("acl: %v %+v", err, r)
	}
	if r, err := adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: "alice", Mechanism: kadm.ScramSha512, Iterations: 8192, Password: "alice-secret"}}); err != nil || r.Error() != nil {
		t.Fatalf("scram: %v %v", err, r.Error())
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "audit"); err != nil {
		t.Fatal(err)
	}
	tx := client(t, addr, kgo.TransactionalID("audit-writer"))
	if err := tx.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := tx.ProduceSync(ctx, &kgo.Record{Topic: "audit", Value: []byte(`{"event":"login"}`)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := tx.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
}

// consumeSlowly is group billing's consumer: it reads orders 60 records at
// a time, commits, and waits a quarter second, until stop closes.
func consumeSlowly(t *testing.T, addr string, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumerGroup("billing"), kgo.ConsumeTopics("orders"),
		kgo.DisableAutoCommit(), kgo.ClientID("billing-worker"))
	if err != nil {
		t.Error(err)
		return
	}
	defer cl.Close()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		cl.PollRecords(ctx, 60)
		cancel()
		ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
		cl.CommitUncommittedOffsets(ctx)
		cancel()
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}
