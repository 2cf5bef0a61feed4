module bench.example/cold251

go 1.21
