module bench.example/cold192

go 1.21
