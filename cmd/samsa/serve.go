package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/server"
)

func newServeCmd() *cobra.Command {
	var (
		dataDir, listen, configFile, logLevel, debugAddr string
		overrides                                        []string
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a broker (127.0.0.1:9092, data in ./samsa-data unless told otherwise)",
		Long: `Run a single-node Kafka-compatible broker.

With no flags it listens on 127.0.0.1:9092 and keeps its data in ./samsa-data.
Settings use Apache Kafka's property names, from a server.properties file
(--config) and/or --override key=value; flags win over both.

SIGINT or SIGTERM shuts down cleanly: connections close, every log is flushed
and closed, and the next start reuses the data without recovery.`,
		Example: `  samsa serve
  samsa serve --data-dir /var/lib/samsa --listen 0.0.0.0:9092 --override advertised.listeners=PLAINTEXT://host:9092
  samsa serve --config server.properties --override log.flush.mode=group-commit`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dataDir != "" {
				overrides = append(overrides, "log.dirs="+dataDir)
			}
			if listen != "" {
				overrides = append(overrides, "listeners=PLAINTEXT://"+listen)
			}
			cfg, err := config.Load(configFile, overrides)
			if err != nil {
				return err
			}
			return serve(cmd.Context(), cfg, logLevel, debugAddr)
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data-dir", "", "data directory (Kafka's log.dirs); default ./samsa-data")
	f.StringVar(&listen, "listen", "", "HOST:PORT to listen on (Kafka's listeners); default 127.0.0.1:9092")
	f.StringVar(&configFile, "config", "", "Kafka-style server.properties file")
	f.StringArrayVar(&overrides, "override", nil, "set a property, key=value (repeatable)")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&debugAddr, "debug-addr", "", "serve Go's pprof profiles on this HOST:PORT (/debug/pprof/); off by default")
	return cmd
}

// serve runs the broker until SIGINT or SIGTERM. ctx is the command's
// context, which the CLI cancels on either signal: a signal that arrives
// while the broker is still starting (opening 100,000 logs takes seconds)
// stops it as soon as it is up, instead of being lost.
func serve(ctx context.Context, cfg *config.Config, level, debugAddr string) error {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return fmt.Errorf("--log-level %q: %w", level, err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv}))
	abs, _ := filepath.Abs(cfg.DataDir)
	logger.Info("starting samsa", "version", version, "data_dir", abs)
	if u := cfg.Unsupported(); len(u) > 0 {
		logger.Warn("accepted but not acted on yet", "settings", strings.Join(u, ","))
	}
	server.Version = version
	srv, err := server.Start(cfg, logger)
	if err != nil {
		return err
	}
	if debugAddr != "" {
		go func() {
			// net/http/pprof registers on the default mux.
			logger.Info("pprof listening", "addr", debugAddr)
			if err := http.ListenAndServe(debugAddr, nil); err != nil {
				logger.Error("pprof listener", "err", err)
			}
		}()
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	select {
	case sig := <-sigs:
		logger.Info("shutting down", "signal", sig.String())
	case <-ctx.Done():
		logger.Info("shutting down", "signal", "received while starting")
	case err := <-srv.Done():
		logger.Error("listener stopped", "err", err)
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Close(stopCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped cleanly")
	return nil
}
