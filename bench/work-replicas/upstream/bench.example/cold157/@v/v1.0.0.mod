module bench.example/cold157

go 1.21
