module bench.example/cold166

go 1.21
