module bench.example/cold267

go 1.21
