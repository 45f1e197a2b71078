"""ApolloHook's endpoint methods, one module per Apollo resource (mixed into ``ApolloHook``)."""
