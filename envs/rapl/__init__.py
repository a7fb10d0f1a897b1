"""rapl: robot manipulation with a hidden end-user preference, learned from few preference queries over videos."""
