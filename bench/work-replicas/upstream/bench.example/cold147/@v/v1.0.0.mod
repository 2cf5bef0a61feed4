module bench.example/cold147

go 1.21
