module bench.example/cold47

go 1.21
