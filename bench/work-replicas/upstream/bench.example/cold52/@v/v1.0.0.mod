module bench.example/cold52

go 1.21
