package main

import "context"

func runBench(ctx context.Context, args []string) error { return usagef("bench: not built yet") }

func benchChild() func() int { return nil }
