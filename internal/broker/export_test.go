package broker

// SetFetchWaitHook makes fn run whenever a fetch starts to long-poll,
// before it watches its partitions; nil removes it.
func SetFetchWaitHook(fn func()) {
	if fn == nil {
		fetchWaitHook.Store(nil)
		return
	}
	fetchWaitHook.Store(&fn)
}
