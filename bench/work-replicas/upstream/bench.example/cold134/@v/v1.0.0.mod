module bench.example/cold134

go 1.21
