module bench.example/cold190

go 1.21
