module bench.example/cold236

go 1.21
