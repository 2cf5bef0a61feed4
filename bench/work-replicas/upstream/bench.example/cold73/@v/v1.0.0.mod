module bench.example/cold73

go 1.21
