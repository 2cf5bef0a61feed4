module bench.example/cold42

go 1.21
