module bench.example/cold57

go 1.21
