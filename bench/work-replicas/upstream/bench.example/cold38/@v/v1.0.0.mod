module bench.example/cold38

go 1.21
